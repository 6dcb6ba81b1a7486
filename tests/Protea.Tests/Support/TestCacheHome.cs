using System.Runtime.CompilerServices;

namespace Protea.Tests.Support;

/// <summary>
/// CLI tests read image folders through the decoded cache by default (<see cref="Protea.Data.DecodedCache.DefaultDirectory"/>):
/// point it at a temporary folder for this test process, so tests never write into the user's ~/.cache.
/// </summary>
internal static class TestCacheHome
{
    [ModuleInitializer]
    internal static void Initialize()
    {
        var home = Path.Combine(Path.GetTempPath(), "protea-test-cache-" + Environment.ProcessId);
        Environment.SetEnvironmentVariable("XDG_CACHE_HOME", home);
        AppDomain.CurrentDomain.ProcessExit += (_, _) =>
        {
            try { Directory.Delete(home, recursive: true); } catch (IOException) { } catch (UnauthorizedAccessException) { }
        };
    }
}

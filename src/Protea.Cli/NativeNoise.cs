using System.Runtime.InteropServices;
using Microsoft.Win32.SafeHandles;

namespace Protea.Cli;

/// <summary>
/// Keeps native libraries' chatter off the user's screen. libtorch, oneDNN and ONNX Runtime write
/// warnings straight to file descriptor 2 (e.g. libtorch's four-line "Could not initialize NNPACK!
/// Reason: Unsupported hardware." on some CPUs), which users read as an error. Unless --verbose is
/// given, descriptor 2 is pointed at a log file and Protea's own messages go to a duplicate of the
/// original stderr, so they still reach the terminal or the caller's redirect.
/// </summary>
internal static class NativeNoise
{
    public static string LogPath => Path.Combine(Path.GetTempPath(), "protea-native.log");

    /// <summary>The writer for Protea's own diagnostics: the real stderr, with native output diverted to <see cref="LogPath"/>.</summary>
    public static TextWriter Divert()
    {
        if (!OperatingSystem.IsLinux() && !OperatingSystem.IsMacOS())
            return Console.Error;
        var original = Dup(2);
        if (original < 0)
            return Console.Error;
        var log = Open(LogPath, OpenFlags, Convert.ToInt32("644", 8));
        if (log < 0 || Dup2(log, 2) < 0)
        {
            Close(original);
            return Console.Error;
        }
        Close(log);
        var writer = new StreamWriter(new FileStream(new SafeFileHandle(original, ownsHandle: true), FileAccess.Write, 1)) { AutoFlush = true };
        Console.SetError(writer);
        return writer;
    }

    // O_WRONLY | O_CREAT | O_APPEND (Linux values; macOS: 0x1 | 0x200 | 0x8).
    private static int OpenFlags => OperatingSystem.IsMacOS() ? 0x1 | 0x200 | 0x8 : 0x1 | 0x40 | 0x400;

    [DllImport("libc", EntryPoint = "dup", SetLastError = true)]
    private static extern int Dup(int fd);

    [DllImport("libc", EntryPoint = "dup2", SetLastError = true)]
    private static extern int Dup2(int oldFd, int newFd);

    [DllImport("libc", EntryPoint = "open", SetLastError = true, CharSet = CharSet.Ansi, BestFitMapping = false)]
    private static extern int Open(string path, int flags, int mode);

    [DllImport("libc", EntryPoint = "close", SetLastError = true)]
    private static extern int Close(int fd);
}

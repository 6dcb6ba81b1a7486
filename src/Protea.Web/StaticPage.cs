using System.Reflection;
using Microsoft.AspNetCore.Http;

namespace Protea.Web;

/// <summary>The page (index.html, app.js, app.css), embedded in the assembly: nothing is fetched from outside.</summary>
public static class StaticPage
{
    private static readonly Dictionary<string, (byte[] Bytes, string Type)> Files = Load();

    private static Dictionary<string, (byte[], string)> Load()
    {
        var assembly = typeof(StaticPage).Assembly;
        var result = new Dictionary<string, (byte[], string)>(StringComparer.Ordinal);
        foreach (var name in assembly.GetManifestResourceNames().Where(n => n.StartsWith("wwwroot/", StringComparison.Ordinal)))
        {
            using var stream = assembly.GetManifestResourceStream(name)!;
            using var copy = new MemoryStream();
            stream.CopyTo(copy);
            var file = name["wwwroot/".Length..];
            var type = Path.GetExtension(file) switch
            {
                ".html" => "text/html; charset=utf-8",
                ".js" => "text/javascript; charset=utf-8",
                ".css" => "text/css; charset=utf-8",
                ".svg" => "image/svg+xml",
                _ => "application/octet-stream",
            };
            result[file] = (copy.ToArray(), type);
        }
        return result;
    }

    public static IResult Serve(string file) => Files.TryGetValue(file, out var f)
        ? Results.Bytes(f.Bytes, f.Type)
        : throw WebProblem.NotFound($"no page file '{file}'");
}

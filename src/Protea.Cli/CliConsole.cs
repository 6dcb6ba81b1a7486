using System.Text.Json;
using Protea.IO;

namespace Protea.Cli;

/// <summary>
/// Where commands write: results to stdout, progress and diagnostics to stderr. With --json stdout
/// carries exactly one JSON object and nothing else; progress is live only on a terminal.
/// </summary>
public sealed class CliConsole(TextWriter stdout, TextWriter stderr, bool interactive)
{
    public TextWriter Out { get; } = stdout;
    public TextWriter Error { get; } = stderr;

    /// <summary>True when stdout is a terminal: live progress lines and tables.</summary>
    public bool Interactive { get; } = interactive;

    public void WriteJson<T>(T value) => Out.WriteLine(JsonSerializer.Serialize(value, ProteaJson.Options));
}

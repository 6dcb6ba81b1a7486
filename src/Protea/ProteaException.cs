namespace Protea;

/// <summary>
/// A user mistake (bad input file, bad option, missing model): carries a one-line message that names
/// the file or field and the fix, and the process exit code. The CLI prints only the message.
/// Internal failures are ordinary exceptions and exit with code 1.
/// </summary>
public sealed class ProteaException(string message, int exitCode = ProteaException.BadInput) : Exception(message)
{
    public const int BadInput = 2;
    public const int Internal = 1;

    public int ExitCode { get; } = exitCode;
}

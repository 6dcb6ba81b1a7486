namespace Protea;

/// <summary>
/// A user mistake (bad input file, bad option, missing model): carries a one-line message that names
/// the file or value and the fix, and the process exit code. Internal failures are ordinary
/// exceptions and exit with code 1.
/// </summary>
/// <remarks>
/// Library messages speak of the problem and the value ("architecture 'vgg' is not known; known: cnn,
/// resnet18, mlp"), never of a front end's flags: <see cref="Field"/> names the setting in the
/// library's words and each host (CLI flag, web form field) adds its own way to set it.
/// </remarks>
public sealed class ProteaException(string message, int exitCode = ProteaException.BadInput, string? field = null) : Exception(message)
{
    public const int BadInput = 2;
    public const int Internal = 1;

    public ProteaException(string message, string field) : this(message, BadInput, field) { }

    public int ExitCode { get; } = exitCode;

    /// <summary>The setting the message is about, in snake_case as in model.json and TrainOptions ("architecture", "batch_size", "data"), or null.</summary>
    public string? Field { get; } = field;
}

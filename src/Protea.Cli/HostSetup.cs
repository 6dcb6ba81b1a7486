using Protea.Deploy;
using TorchSharp;

namespace Protea.Cli;

/// <summary>
/// What the CLI, as the host process, sets up before a command opens engines: the library sets no
/// process-wide state itself, so TorchSharp's thread count is set here, once, from the thread option.
/// </summary>
internal static class HostSetup
{
    public static void SetTorchThreads(int threads)
    {
        if (threads < 0)
            throw new ProteaException($"{threads} is not a thread count; give 1 or more (0 = the engine's default)", "threads");
        if (threads > 0) torch.set_num_threads(threads);
    }

    /// <summary>Says on stderr that `auto` passed over a stale or unreadable export, and how to refresh it.</summary>
    public static void NoteStaleExport(CliConsole console, string modelDir) =>
        console.Error.WriteLine($"note: {OnnxModelFile.PathIn(modelDir)} does not match the model; using TorchSharp (run `protea export --model {modelDir} --format onnx` to use ONNX Runtime)");
}

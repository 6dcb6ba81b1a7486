using Protea.Deploy;

namespace Protea.Cli.Commands;

/// <summary>Opens the inference engine for eval and predict, saying on stderr when `auto` passes over a stale export.</summary>
public static class EngineOpener
{
    public static IInferenceEngine Open(CliConsole console, string modelDir, string? engine, int threads)
    {
        var choice = InferenceEngines.ParseChoice(engine);
        if (choice == EngineChoice.Auto && OnnxModelFile.State(modelDir) is OnnxExportState.Stale or OnnxExportState.Unreadable)
            console.Error.WriteLine($"note: {OnnxModelFile.PathIn(modelDir)} does not match the model; using TorchSharp (run `protea export --model {modelDir} --format onnx` to use ONNX Runtime)");
        return InferenceEngines.Open(modelDir, choice, threads);
    }
}

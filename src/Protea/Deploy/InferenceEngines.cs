using Protea.Data;
using Protea.Models;
using static TorchSharp.torch;

namespace Protea.Deploy;

/// <summary>Opens the engine a command asked for and runs it over whole data sets in batches.</summary>
public static class InferenceEngines
{
    public const int DefaultBatchSize = 1000;

    /// <summary>
    /// Auto: ONNX Runtime when DIR/model.onnx is a current export, else TorchSharp. Onnx: refuses a
    /// missing, stale or unreadable export rather than serving outputs of an older model.
    /// </summary>
    /// <param name="threads">intra-op threads for the engine; 0 lets it choose.</param>
    public static IInferenceEngine Open(string modelDir, EngineChoice choice = EngineChoice.Auto, int threads = 0)
    {
        CheckThreads(threads);
        var description = ModelBundle.ReadDescription(modelDir);
        var weights = ModelBundle.WeightsPath(modelDir);
        if (!File.Exists(weights))
            throw new ProteaException($"{weights}: file not found; {modelDir} is not a complete Protea model directory");
        if (choice == EngineChoice.Torch)
            return TorchEngine.Open(modelDir, threads);
        var state = OnnxModelFile.State(modelDir);
        var onnx = OnnxModelFile.PathIn(modelDir);
        if (state == OnnxExportState.Current)
            return new OnnxEngine(onnx, description, threads);
        if (choice == EngineChoice.Auto)
            return TorchEngine.Open(modelDir, threads);
        var export = $"run `protea export --model {modelDir} --format onnx`";
        throw state == OnnxExportState.Unreadable
            ? new ProteaException($"{onnx}: not a valid ONNX file; {export}")
            : new ProteaException($"{onnx} is missing or older than the model; {export}");
    }

    /// <summary>Parses `--engine` (auto, torch or onnx).</summary>
    public static EngineChoice ParseChoice(string? name) => name?.ToLowerInvariant() switch
    {
        null or "auto" => EngineChoice.Auto,
        "torch" => EngineChoice.Torch,
        "onnx" => EngineChoice.Onnx,
        _ => throw new ProteaException($"--engine: unknown engine '{name}'; choose auto, torch or onnx"),
    };

    /// <summary>Runs every example of <paramref name="data"/> in batches; row i of the result is example i.</summary>
    public static InferenceOutput RunAll(IInferenceEngine engine, Dataset data, int batchSize = DefaultBatchSize, CancellationToken cancellation = default)
    {
        var expected = engine.Description.InputShape;
        if (!data.ExampleShape.SequenceEqual(expected))
            throw new ProteaException($"{data.Source}: examples have shape [{string.Join(", ", data.ExampleShape)}], the model expects [{string.Join(", ", expected)}]; use data like the model was trained on");
        return RunAll(engine, data.Inputs, batchSize, cancellation);
    }

    /// <summary>Runs raw inputs [N, ...] in batches of <paramref name="batchSize"/>; row i of the result is input i.</summary>
    public static InferenceOutput RunAll(IInferenceEngine engine, Tensor inputs, int batchSize = DefaultBatchSize, CancellationToken cancellation = default)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(batchSize, 1);
        CheckBatch(engine.Description, inputs);
        var n = (int)inputs.shape[0];
        float[]? logits = null, embeddings = null;
        int k = engine.Description.NumClasses, d = 0;
        for (var start = 0; start < n; start += batchSize)
        {
            cancellation.ThrowIfCancellationRequested();
            var count = Math.Min(batchSize, n - start);
            using var batch = inputs.narrow(0, start, count);
            var output = engine.Run(batch);
            if (logits is null)
            {
                (k, d) = (output.NumClasses, output.EmbeddingDim);
                logits = new float[(long)n * k];
                embeddings = new float[(long)n * d];
            }
            output.Logits.CopyTo(logits, (long)start * k);
            output.Embeddings.CopyTo(embeddings!, (long)start * d);
        }
        return new InferenceOutput(n, k, d, logits ?? [], embeddings ?? []);
    }

    internal static void CheckThreads(int threads)
    {
        if (threads < 0)
            throw new ProteaException($"--threads: {threads} is not a thread count; give 1 or more (0 = the engine's default)");
    }

    internal static void CheckBatch(ModelDescription d, Tensor raw)
    {
        if (raw.dim() != d.InputShape.Length + 1 || !raw.shape[1..].SequenceEqual(d.InputShape))
            throw new ProteaException($"input batch has shape [{string.Join(", ", raw.shape)}], the model expects [N, {string.Join(", ", d.InputShape)}]");
    }
}

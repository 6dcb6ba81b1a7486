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
    /// <param name="threads">
    /// ONNX Runtime's intra-op threads for this engine's session; 0 lets it choose. TorchSharp's thread
    /// count is process-wide: the host sets it once (torch.set_num_threads) before opening engines.
    /// </param>
    public static IInferenceEngine Open(string modelDir, EngineChoice choice = EngineChoice.Auto, int threads = 0) =>
        Open(modelDir, choice, threads, out _);

    /// <summary>As <see cref="Open(string, EngineChoice, int)"/>; <paramref name="passedOverExport"/> says that Auto
    /// found an export that is stale or unreadable and used TorchSharp instead (a host may tell its user).</summary>
    public static IInferenceEngine Open(string modelDir, EngineChoice choice, int threads, out bool passedOverExport)
    {
        passedOverExport = false;
        CheckThreads(threads);
        var description = ModelBundle.ReadDescription(modelDir);
        var weights = ModelBundle.WeightsPath(modelDir);
        if (!File.Exists(weights))
            throw new ProteaException($"{weights}: file not found; {modelDir} is not a complete Protea model directory", "model");
        if (choice == EngineChoice.Torch)
            return TorchEngine.Open(modelDir);
        var state = OnnxModelFile.State(modelDir);
        var onnx = OnnxModelFile.PathIn(modelDir);
        if (state == OnnxExportState.Current)
            return new OnnxEngine(onnx, description, threads);
        if (choice == EngineChoice.Auto)
        {
            passedOverExport = state is OnnxExportState.Stale or OnnxExportState.Unreadable;
            return TorchEngine.Open(modelDir);
        }
        throw state == OnnxExportState.Unreadable
            ? new ProteaException($"{onnx}: not a valid ONNX file; export the model to ONNX again, or use the torch engine", "engine")
            : new ProteaException($"{onnx} is missing or older than the model; export the model to ONNX first, or use the torch engine", "engine");
    }

    /// <summary>The names <see cref="ParseChoice"/> accepts.</summary>
    public static IReadOnlyList<string> ChoiceNames { get; } = ["auto", "torch", "onnx"];

    /// <summary>Parses an engine name (auto, torch or onnx; null means auto).</summary>
    public static EngineChoice ParseChoice(string? name) => name?.ToLowerInvariant() switch
    {
        null or "auto" => EngineChoice.Auto,
        "torch" => EngineChoice.Torch,
        "onnx" => EngineChoice.Onnx,
        _ => throw new ProteaException($"engine '{name}' is not known; known: {string.Join(", ", ChoiceNames)}", "engine"),
    };

    /// <summary>Runs every example of <paramref name="data"/> in batches; row i of the result is example i.</summary>
    public static InferenceOutput RunAll(IInferenceEngine engine, Dataset data, int batchSize = DefaultBatchSize, CancellationToken cancellation = default)
    {
        CheckShape(data, engine.Description);
        if (!data.IsStreamed) return RunAll(engine, data.Inputs, batchSize, cancellation);
        return RunAll(engine, data.Count, data.Slice, batchSize, cancellation);
    }

    /// <summary>A one-line error unless the data's examples have the shape the model was trained on.</summary>
    public static void CheckShape(Dataset data, ModelDescription description)
    {
        var expected = description.InputShape;
        if (!data.ExampleShape.SequenceEqual(expected))
            throw new ProteaException($"{data.Source}: examples have shape [{string.Join(", ", data.ExampleShape)}], the model expects [{string.Join(", ", expected)}]; use data like the model was trained on", "data");
    }

    /// <summary>Runs raw inputs [N, ...] in batches of <paramref name="batchSize"/>; row i of the result is input i.</summary>
    public static InferenceOutput RunAll(IInferenceEngine engine, Tensor inputs, int batchSize = DefaultBatchSize, CancellationToken cancellation = default)
    {
        CheckBatch(engine.Description, inputs);
        return RunAll(engine, (int)inputs.shape[0], (start, count) => inputs.narrow(0, start, count), batchSize, cancellation);
    }

    /// <summary>Runs <paramref name="n"/> raw inputs, <paramref name="rows"/>(start, count) giving each batch.</summary>
    private static InferenceOutput RunAll(IInferenceEngine engine, int n, Func<long, long, Tensor> rows, int batchSize, CancellationToken cancellation)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(batchSize, 1);
        float[]? logits = null, embeddings = null;
        int k = engine.Description.NumClasses, d = 0;
        for (var start = 0; start < n; start += batchSize)
        {
            cancellation.ThrowIfCancellationRequested();
            var count = Math.Min(batchSize, n - start);
            using var batch = rows(start, count);
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
            throw new ProteaException($"{threads} is not a thread count; give 1 or more (0 = the engine's default)", "threads");
    }

    internal static void CheckBatch(ModelDescription d, Tensor raw)
    {
        if (raw.dim() != d.InputShape.Length + 1 || !raw.shape[1..].SequenceEqual(d.InputShape))
            throw new ProteaException($"input batch has shape [{string.Join(", ", raw.shape)}], the model expects [N, {string.Join(", ", d.InputShape)}]");
    }
}

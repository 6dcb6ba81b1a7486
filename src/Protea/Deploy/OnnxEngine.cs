using System.Runtime.InteropServices;
using Microsoft.ML.OnnxRuntime;
using Protea.Models;
using static TorchSharp.torch;

namespace Protea.Deploy;

/// <summary>
/// Runs an exported model with ONNX Runtime: one session reused for every batch, sequential execution,
/// all graph optimisations. Each batch is converted to float32 straight into a pinned buffer that
/// ONNX Runtime reads in place, and the outputs are written straight into the returned arrays.
/// Runs are serialised (the input buffer is shared), so one engine may be used from several threads.
/// </summary>
public sealed class OnnxEngine : IInferenceEngine
{
    private static readonly string[] InputNames = ["input"];
    private static readonly string[] OutputNames = ["logits", "embedding"];
    private const string ExportAgain = "export the model to ONNX again";

    private readonly SessionOptions options;
    private readonly InferenceSession session;
    private readonly RunOptions runOptions;
    private readonly long[] exampleShape;
    private readonly int exampleSize, numClasses, embeddingDim;
    private readonly Lock gate = new();
    private float[] buffer = [];

    /// <param name="onnxPath">A file written by <see cref="OnnxExporter"/> for the model <paramref name="description"/> describes.</param>
    /// <param name="threads">ONNX Runtime intra-op threads; 0 lets it choose.</param>
    public OnnxEngine(string onnxPath, ModelDescription description, int threads = 0)
        : this(description, threads, onnxPath, ExportAgain,
            options => File.Exists(onnxPath)
                ? new InferenceSession(onnxPath, options)
                : throw new ProteaException($"{onnxPath}: file not found; {ExportAgain}", "model"))
    {
    }

    private OnnxEngine(ModelDescription description, int threads, string source, string reexport, Func<SessionOptions, InferenceSession> open,
        bool memoryArena = true)
    {
        InferenceEngines.CheckThreads(threads);
        Description = description;
        exampleShape = description.InputShape;
        exampleSize = (int)exampleShape.Aggregate(1L, (a, b) => a * b);
        numClasses = description.NumClasses;
        options = new SessionOptions
        {
            IntraOpNumThreads = threads,
            InterOpNumThreads = 1,
            GraphOptimizationLevel = GraphOptimizationLevel.ORT_ENABLE_ALL,
            ExecutionMode = ExecutionMode.ORT_SEQUENTIAL,
            EnableCpuMemArena = memoryArena,
        };
        try
        {
            session = open(options);
        }
        catch (Exception e) when (e is OnnxRuntimeException or ProteaException)
        {
            options.Dispose();
            if (e is ProteaException) throw;
            throw new ProteaException($"{source}: not a valid ONNX model ({FirstLine(e.Message)}); {reexport}");
        }
        runOptions = new RunOptions();
        try
        {
            embeddingDim = CheckSignature(source, reexport);
        }
        catch
        {
            Dispose();
            throw;
        }
    }

    /// <summary>
    /// An engine over a model in memory, exported on the fly (no file): the trainer scores each epoch's
    /// validation data with it, since ONNX Runtime runs the exported graph several times faster.
    /// </summary>
    public static OnnxEngine FromModel(ModelBundle bundle, int threads = 0)
    {
        var bytes = OnnxExporter.ToBytes(bundle, weightsSha256: "in-memory");
        // No memory arena: a short-lived session per epoch would otherwise leave each arena's pages behind.
        return new OnnxEngine(bundle.Description, threads, "in-memory export", "this is a bug in Protea's exporter",
            options => new InferenceSession(bytes, options), memoryArena: false);
    }

    public string Name => "onnx";

    public ModelDescription Description { get; }

    public InferenceOutput Run(Tensor rawBatch)
    {
        InferenceEngines.CheckBatch(Description, rawBatch);
        var n = (int)rawBatch.shape[0];
        var logits = new float[(long)n * numClasses];
        var embeddings = new float[(long)n * embeddingDim];
        if (n == 0) return new InferenceOutput(0, numClasses, embeddingDim, logits, embeddings);
        var length = n * exampleSize;
        lock (gate)
        {
            if (buffer.Length < length)
                buffer = GC.AllocateUninitializedArray<float>(length, pinned: true); // pinned heap: ORT reads it in place
            Fill(rawBatch, buffer.AsSpan(0, length));
            using var input = OrtValue.CreateTensorValueFromMemory(OrtMemoryInfo.DefaultInstance, buffer.AsMemory(0, length), [n, .. exampleShape]);
            using var logitsValue = OrtValue.CreateTensorValueFromMemory(logits, [n, numClasses]);
            using var embeddingValue = OrtValue.CreateTensorValueFromMemory(embeddings, [n, embeddingDim]);
            session.Run(runOptions, InputNames, [input], OutputNames, [logitsValue, embeddingValue]);
        }
        return new InferenceOutput(n, numClasses, embeddingDim, logits, embeddings);
    }

    /// <summary>uint8 pixels widen to float (the graph scales them); float32 features are copied as they are.</summary>
    private static void Fill(Tensor raw, Span<float> target)
    {
        using var contiguous = raw.contiguous();
        switch (contiguous.dtype)
        {
            case ScalarType.Byte:
                ReadOnlySpan<byte> pixels = contiguous.bytes;
                for (var i = 0; i < target.Length; i++) target[i] = pixels[i];
                break;
            case ScalarType.Float32:
                MemoryMarshal.Cast<byte, float>(contiguous.bytes).CopyTo(target);
                break;
            default:
                using (var f = contiguous.to(ScalarType.Float32))
                    MemoryMarshal.Cast<byte, float>(f.bytes).CopyTo(target);
                break;
        }
    }

    /// <summary>The file must take the input model.json describes and give K logits; returns its embedding size.</summary>
    private int CheckSignature(string onnxPath, string reexport)
    {
        var mismatch = $"{onnxPath}: does not match {ModelBundle.DescriptionFile} beside it";
        if (!session.InputMetadata.TryGetValue("input", out var input) || !input.Dimensions.Skip(1).Select(d => (long)d).SequenceEqual(exampleShape))
            throw new ProteaException($"{mismatch} (expected input \"input\" [batch, {string.Join(", ", exampleShape)}]); {reexport}");
        if (!session.OutputMetadata.TryGetValue("logits", out var logits) || logits.Dimensions is not [_, var k] || k != numClasses)
            throw new ProteaException($"{mismatch} (expected output \"logits\" [batch, {numClasses}]); {reexport}");
        if (!session.OutputMetadata.TryGetValue("embedding", out var embedding) || embedding.Dimensions is not [_, var d] || d <= 0)
            throw new ProteaException($"{mismatch} (expected output \"embedding\" [batch, D]); {reexport}");
        return d;
    }

    private static string FirstLine(string message) => message.Split('\n', 2)[0].Trim();

    public void Dispose()
    {
        session.Dispose();
        runOptions.Dispose();
        options.Dispose();
    }
}

using Protea.Data;
using Protea.Deploy;
using Protea.Discovery;
using Protea.Models;
using static TorchSharp.torch;

namespace Protea.Predictions;

/// <summary>
/// A saved model ready to predict: opened once on a model folder, it classifies image files, images
/// held in memory (uploads), CSV files and rows of named values, and returns typed
/// <see cref="Prediction"/>s. Inputs are fitted to the model on the way in: images are decoded at its
/// size and channel count, tabular columns are matched to its features by name.
/// </summary>
/// <remarks>
/// The predictor sets no process-wide state. TorchSharp's thread count is process-wide, so it is the
/// host's to set, once, before opening predictors (the CLI does it from its thread option; a server at
/// start-up): <c>torch.set_num_threads(n)</c>. ONNX Runtime sessions take their own thread count
/// (<c>threads</c> in <see cref="Open"/>).
/// </remarks>
public sealed class Predictor : IDisposable
{
    /// <summary>How many classes a prediction lists unless asked otherwise.</summary>
    public const int DefaultTop = 3;

    private readonly IInferenceEngine engine;
    private readonly bool ownsEngine;

    /// <summary>A predictor over an engine the caller opened (and keeps ownership of unless <paramref name="ownsEngine"/>).</summary>
    public Predictor(IInferenceEngine engine, bool ownsEngine = false)
    {
        this.engine = engine;
        this.ownsEngine = ownsEngine;
    }

    /// <summary>
    /// Opens the model in <paramref name="modelDir"/> with the engine chosen as <see cref="InferenceEngines.Open(string, EngineChoice, int)"/>
    /// chooses it: Auto takes ONNX Runtime when model.onnx is a current export, else TorchSharp.
    /// </summary>
    /// <param name="threads">ONNX Runtime's intra-op threads for this predictor's session; 0 lets it choose.</param>
    public static Predictor Open(string modelDir, EngineChoice engine = EngineChoice.Auto, int threads = 0)
    {
        var opened = InferenceEngines.Open(modelDir, engine, threads, out var passedOver);
        try
        {
            return new Predictor(opened, ownsEngine: true) { PassedOverExport = passedOver, Unknown = UnknownDetector.Load(modelDir, opened.Description) };
        }
        catch
        {
            opened.Dispose();
            throw;
        }
    }

    /// <summary>
    /// As <see cref="Open(string, EngineChoice, int)"/>; with <paramref name="explain"/> &gt; 0 every
    /// prediction also carries that many pieces of <see cref="Prediction.Evidence"/>: for a parts model,
    /// the prototypes that contributed most to its class (<see cref="Prototypes.PrototypeEvidence"/>),
    /// computed on the same engine. A model without prototypes is refused.
    /// </summary>
    public static Predictor Open(string modelDir, EngineChoice engine, int threads, int explain)
    {
        var predictor = Open(modelDir, engine, threads);
        if (explain <= 0) return predictor;
        try
        {
            return new Predictor(predictor, new Prototypes.PrototypeEvidenceSource(modelDir, predictor.EngineName == "onnx", explain, threads));
        }
        catch
        {
            predictor.Dispose();
            throw;
        }
    }

    // Takes over another predictor's engine and unknown detector, adding an evidence source.
    private Predictor(Predictor from, IEvidenceSource evidence) : this(from.engine, from.ownsEngine)
    {
        PassedOverExport = from.PassedOverExport;
        Unknown = from.Unknown;
        BatchSize = from.BatchSize;
        Evidence = evidence;
    }

    /// <summary>What fills each prediction's <see cref="Prediction.Evidence"/>, or null: none. The predictor disposes it.</summary>
    public IEvidenceSource? Evidence { get; init; }

    public ModelDescription Description => engine.Description;

    /// <summary>The engine that runs the model: "torch" or "onnx".</summary>
    public string EngineName => engine.Name;

    /// <summary>True when Auto found model.onnx stale or unreadable and runs TorchSharp instead; a host may suggest exporting again.</summary>
    public bool PassedOverExport { get; private init; }

    /// <summary>
    /// The model's calibrated unknown scorer (model.json's "unknown" section, loaded by <see cref="Open"/>), or
    /// null: when set, every prediction carries <see cref="Prediction.UnknownScore"/> and <see cref="Prediction.IsUnknown"/>.
    /// The predictor disposes it.
    /// </summary>
    public UnknownDetector? Unknown { get; init; }

    /// <summary>Inputs run through the engine this many at a time.</summary>
    public int BatchSize { get; init; } = InferenceEngines.DefaultBatchSize;

    /// <summary>Image files (image models) or CSV files of feature rows (tabular models), in the given order.</summary>
    public IReadOnlyList<Prediction> PredictFiles(IReadOnlyList<string> paths, int top = DefaultTop, CancellationToken cancellation = default)
    {
        ClassProbabilities.CheckTop(top);
        foreach (var path in paths)
            if (!File.Exists(path)) throw new ProteaException($"{path}: file not found");
        if (Description.InputKind == InputKind.Image)
        {
            var (c, h, w) = ImageShape();
            using var images = ImageDecoder.DecodeMany(paths, c, h, w);
            return PredictRaw(images, paths, top, cancellation);
        }
        var (rows, names) = TabularInputs.ReadCsv(paths, Description);
        using (rows)
            return PredictRaw(rows, names, top, cancellation);
    }

    /// <summary>One encoded image (PNG, JPEG, ...) held in memory; <paramref name="name"/> names it in the prediction and in messages.</summary>
    public Prediction PredictImage(ReadOnlySpan<byte> encoded, string name, int top = DefaultTop)
    {
        ClassProbabilities.CheckTop(top);
        var (c, h, w) = ImageShape();
        using var image = ImageDecoder.Decode(encoded, name, c, h, w);
        using var batch = image.unsqueeze(0);
        return PredictRaw(batch, [name], top)[0];
    }

    /// <summary>One encoded image read from <paramref name="stream"/> to its end.</summary>
    public Prediction PredictImage(Stream stream, string name, int top = DefaultTop)
    {
        using var copy = new MemoryStream();
        stream.CopyTo(copy);
        return PredictImage(copy.GetBuffer().AsSpan(0, (int)copy.Length), name, top);
    }

    /// <summary>Encoded images held in memory, decoded in parallel; <paramref name="names"/>[i] names image i.</summary>
    public IReadOnlyList<Prediction> PredictImages(IReadOnlyList<ReadOnlyMemory<byte>> encoded, IReadOnlyList<string> names, int top = DefaultTop,
        CancellationToken cancellation = default)
    {
        ClassProbabilities.CheckTop(top);
        var (c, h, w) = ImageShape();
        using var images = ImageDecoder.DecodeMany(encoded, names, c, h, w);
        return PredictRaw(images, names, top, cancellation);
    }

    /// <summary>
    /// Rows of values under named columns (a tabular model): columns are matched to the model's features
    /// by name, in any order; columns it does not use are ignored. Rows are named "row 1", "row 2", ...
    /// unless <paramref name="names"/> are given.
    /// </summary>
    public IReadOnlyList<Prediction> PredictRows(IReadOnlyList<string> columns, IReadOnlyList<IReadOnlyList<double>> rows,
        IReadOnlyList<string>? names = null, int top = DefaultTop, CancellationToken cancellation = default)
    {
        ClassProbabilities.CheckTop(top);
        RequireKind(InputKind.Tabular, "rows of values");
        if (names is not null && names.Count != rows.Count)
            throw new ArgumentException($"{rows.Count} rows but {names.Count} names", nameof(names));
        using var inputs = TabularInputs.FromRows(columns, rows, Description, "rows");
        return PredictRaw(inputs, names ?? Enumerable.Range(1, rows.Count).Select(i => $"row {i}").ToList(), top, cancellation);
    }

    /// <summary>
    /// Rows of values as text under named columns (a tabular model, needed for one with categorical
    /// columns): categorical values are one-hot encoded with the model's categories, the others read as
    /// numbers; otherwise as <see cref="PredictRows(IReadOnlyList{string}, IReadOnlyList{IReadOnlyList{double}}, IReadOnlyList{string}?, int, CancellationToken)"/>.
    /// </summary>
    public IReadOnlyList<Prediction> PredictRows(IReadOnlyList<string> columns, IReadOnlyList<IReadOnlyList<string>> rows,
        IReadOnlyList<string>? names = null, int top = DefaultTop, CancellationToken cancellation = default)
    {
        ClassProbabilities.CheckTop(top);
        RequireKind(InputKind.Tabular, "rows of values");
        if (names is not null && names.Count != rows.Count)
            throw new ArgumentException($"{rows.Count} rows but {names.Count} names", nameof(names));
        using var inputs = TabularInputs.FromTextRows(columns, rows, Description, "rows");
        return PredictRaw(inputs, names ?? Enumerable.Range(1, rows.Count).Select(i => $"row {i}").ToList(), top, cancellation);
    }

    /// <summary>
    /// Inputs already fitted to the model, as a <see cref="Dataset"/> holds them (uint8 [N, C, H, W] images
    /// or float32 [N, D] features); <paramref name="names"/>[i] names input i.
    /// </summary>
    public IReadOnlyList<Prediction> PredictRaw(Tensor inputs, IReadOnlyList<string> names, int top = DefaultTop, CancellationToken cancellation = default)
    {
        ClassProbabilities.CheckTop(top);
        if (names.Count != inputs.shape[0])
            throw new ArgumentException($"{inputs.shape[0]} inputs but {names.Count} names", nameof(names));
        var output = InferenceEngines.RunAll(engine, inputs, BatchSize, cancellation);
        var classes = Description.ClassNames;
        var unknown = Unknown?.Detect(output);
        var evidence = Evidence is null ? null : ExplainInBatches(Evidence, inputs, cancellation);
        var predictions = new Prediction[output.Count];
        for (var i = 0; i < predictions.Length; i++)
        {
            var ranked = ClassProbabilities.Top(ClassProbabilities.Softmax(output.LogitsOf(i)), classes, top);
            predictions[i] = new Prediction(names[i], ranked[0].Class, ranked[0].Probability, ranked, output.EmbeddingOf(i).ToArray())
            {
                UnknownScore = unknown?[i].Score,
                IsUnknown = unknown?[i].IsUnknown,
                Evidence = evidence?[i],
            };
        }
        return predictions;
    }

    private List<IReadOnlyList<Evidence>> ExplainInBatches(IEvidenceSource source, Tensor inputs, CancellationToken cancellation)
    {
        var result = new List<IReadOnlyList<Evidence>>((int)inputs.shape[0]);
        for (long start = 0; start < inputs.shape[0]; start += BatchSize)
        {
            cancellation.ThrowIfCancellationRequested();
            using var batch = inputs.narrow(0, start, Math.Min(BatchSize, inputs.shape[0] - start));
            result.AddRange(source.Explain(batch));
        }
        return result;
    }

    private (int Channels, int Height, int Width) ImageShape()
    {
        RequireKind(InputKind.Image, "images");
        var shape = Description.InputShape;
        return ((int)shape[0], (int)shape[1], (int)shape[2]);
    }

    private void RequireKind(InputKind kind, string what)
    {
        if (Description.InputKind != kind)
            throw new ProteaException($"the model takes {Description.InputKind.ToString().ToLowerInvariant()} input, not {what}", "model");
    }

    public void Dispose()
    {
        Evidence?.Dispose();
        Unknown?.Dispose();
        if (ownsEngine) engine.Dispose();
    }
}

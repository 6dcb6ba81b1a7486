using Protea.Data;
using Protea.Models;
using Protea.Predictions;
using Protea.Prototypes;
using Protea.Search;
using TorchSharp;
using static TorchSharp.torch;

namespace Protea.Web;

/// <summary>
/// One opened version of the served model, never changed once built: the predictor, the evidence it
/// can give (a parts model's prototypes, or the kept training index's nearest items) and the known
/// classes' normalised means (ncm and cosine heads) for discovery. Readers hold a reference
/// (<see cref="ModelHost.Acquire"/>) while they use it; it is disposed when the host has replaced it
/// and the last reader is done. Inference runs one request at a time per snapshot (the TorchSharp
/// engine is not safe to call from several threads at once), under no_grad and a dispose scope.
/// </summary>
public sealed class ModelSnapshot : IDisposable
{
    private readonly object gate = new();
    private readonly object counting = new();
    private int references = 1;

    private ModelSnapshot(int version, Predictor predictor, NearestTrainingEvidence? nearest, ModelBundle? parts, float[]? knownMeans)
    {
        Version = version;
        Predictor = predictor;
        Nearest = nearest;
        Parts = parts;
        KnownMeans = knownMeans;
        if (nearest is not null)
            for (var i = 0; i < nearest.Index.Count; i++) RowById.TryAdd(nearest.Index.Ids[i], i);
    }

    /// <summary>Counts the model's versions in this server's life: 1 at start, one more per class taught.</summary>
    public int Version { get; }

    public Predictor Predictor { get; }
    public ModelDescription Description => Predictor.Description;
    public NearestTrainingEvidence? Nearest { get; }

    /// <summary>The TorchSharp model of a parts head (prototype explanations), else null.</summary>
    public ModelBundle? Parts { get; }

    /// <summary>The known classes' L2-normalised means, row-major [classes, dim], for an ncm or cosine head; else null.</summary>
    public float[]? KnownMeans { get; }

    /// <summary>Whether classes can be added without training (the head has class prototypes).</summary>
    public bool CanLearn => Description.Head is "ncm" or "cosine";

    public Dictionary<string, int> RowById { get; } = new(StringComparer.Ordinal);

    public string EvidenceKind => Parts is not null ? "prototypes" : Nearest is not null ? "nearest_training_items" : "none";

    public static ModelSnapshot Open(string modelDir, int version, int threads)
    {
        var description = ModelBundle.ReadDescription(modelDir);
        if (description.InputKind != InputKind.Image)
            throw new ProteaException($"{modelDir}: the model takes tabular data; the web app serves image models", "model");
        Predictor? predictor = null;
        NearestTrainingEvidence? nearest = null;
        ModelBundle? bundle = null;
        try
        {
            predictor = Predictor.Open(modelDir, Deploy.EngineChoice.Auto, threads);
            nearest = NearestTrainingEvidence.Open(modelDir);
            float[]? means = null;
            if (description.Head is "parts" or "ncm" or "cosine")
            {
                bundle = ModelBundle.Load(modelDir);
                means = Means(bundle);
                if (bundle.Model.Head is not PartsHead) { bundle.Dispose(); bundle = null; }
            }
            return new ModelSnapshot(version, predictor, nearest, bundle, means);
        }
        catch
        {
            predictor?.Dispose();
            nearest?.Dispose();
            bundle?.Dispose();
            throw;
        }
    }

    private static float[]? Means(ModelBundle bundle)
    {
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        Tensor? means = bundle.Model.Head switch
        {
            NcmHead ncm => ncm.Prototypes,
            CosineHead cosine => cosine.state_dict()["weight"],
            _ => null,
        };
        if (means is null) return null;
        return nn.functional.normalize(means.detach().to(float32), dim: 1).contiguous().data<float>().ToArray();
    }

    internal bool TryAddReference()
    {
        lock (counting)
        {
            if (references == 0) return false;
            references++;
            return true;
        }
    }

    /// <summary>Gives back a reference; the last one disposes the snapshot.</summary>
    public void Release()
    {
        bool last;
        lock (counting) last = --references == 0;
        if (last) Dispose();
    }

    /// <summary>Images fitted to the model: uint8 [N, C, H, W], decoded in parallel.</summary>
    public Tensor Decode(IReadOnlyList<Upload> uploads)
    {
        var shape = Description.InputShape;
        return ImageDecoder.DecodeMany(uploads.Select(u => (ReadOnlyMemory<byte>)u.Bytes).ToList(), uploads.Select(u => u.Name).ToList(),
            (int)shape[0], (int)shape[1], (int)shape[2]);
    }

    /// <summary>Predictions of the uploads with their evidence, under no_grad and a dispose scope, one request at a time.</summary>
    public (IReadOnlyList<Prediction> Predictions, IReadOnlyList<PrototypeExplanation>? Prototypes) Predict(IReadOnlyList<Upload> uploads, int top, bool evidence = true)
    {
        lock (gate)
        {
            using var scope = NewDisposeScope();
            using var noGrad = no_grad();
            var images = Decode(uploads);
            var predictions = Predictor.PredictRaw(images, uploads.Select(u => u.Name).ToList(), Math.Min(top, Description.ClassNames.Count));
            if (!evidence) return (predictions, null);
            if (Nearest is not null) predictions = Nearest.Explain(predictions);
            var prototypes = Parts is not null ? PrototypeExplainer.Explain(Parts, images) : null;
            return (predictions, prototypes);
        }
    }

    public void Dispose()
    {
        Predictor.Dispose();
        Nearest?.Dispose();
        Parts?.Dispose();
    }
}

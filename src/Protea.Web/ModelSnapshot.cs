using Protea.Data;
using Protea.Explanations;
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

    private ExplainedModel? explained;

    private ModelSnapshot(int version, Predictor predictor, NearestTrainingEvidence? nearest, ModelBundle bundle, float[]? knownMeans)
    {
        Version = version;
        Predictor = predictor;
        Nearest = nearest;
        Bundle = bundle;
        KnownMeans = knownMeans;
        if (nearest is not null)
            for (var i = 0; i < nearest.Index.Count; i++) RowById.TryAdd(nearest.Index.Ids[i], i);
    }

    /// <summary>Counts the model's versions in this server's life: 1 at start, one more per class taught.</summary>
    public int Version { get; }

    public Predictor Predictor { get; }
    public ModelDescription Description => Predictor.Description;
    public NearestTrainingEvidence? Nearest { get; }

    /// <summary>The TorchSharp model (saliency maps; a parts head's prototype explanations), used under the snapshot's lock.</summary>
    public ModelBundle Bundle { get; }

    /// <summary>The TorchSharp model of a parts head (prototype explanations), else null.</summary>
    public ModelBundle? Parts => Bundle.Model.Head is PartsHead ? Bundle : null;

    /// <summary>The known classes' L2-normalised means, row-major [classes, dim], for an ncm or cosine head; else null.</summary>
    public float[]? KnownMeans { get; }

    /// <summary>Whether classes can be added without training (the head has class prototypes).</summary>
    public bool CanLearn => Description.Head is "ncm" or "cosine";

    public Dictionary<string, int> RowById { get; } = new(StringComparer.Ordinal);

    private readonly System.Collections.Concurrent.ConcurrentDictionary<int, bool> imageAtHand = new();

    /// <summary>Whether the kept index's item <paramref name="row"/> has its image file at hand (items of a taught class have none); looked up once per row.</summary>
    public bool HasImage(int row) => Nearest is { } n && row >= 0 && row < n.Index.Count
        && imageAtHand.GetOrAdd(row, r => n.Index.PathOf(r) is { } path && File.Exists(path));

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
            bundle = ModelBundle.Load(modelDir);
            var means = description.Head is "ncm" or "cosine" ? Means(bundle) : null;
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
        return nn.functional.normalize(means.detach().to(float32), dim: 1).ToFloats();
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

    /// <summary>
    /// Predictions of the uploads with their evidence. Requests that arrive while the engine is busy are
    /// run together as one batch when it is free (whoever finds it idle runs the queue, so there is no
    /// background thread, and no thread waits on a lock for its turn); every batch runs under no_grad and
    /// a dispose scope. A parts model's prototype explanations are made for the batch in the same pass.
    /// </summary>
    public async Task<(IReadOnlyList<Prediction> Predictions, IReadOnlyList<PrototypeExplanation>? Prototypes)> PredictAsync(
        IReadOnlyList<Upload> uploads, int top, bool evidence = true)
    {
        top = Math.Min(top, Description.ClassNames.Count);
        var pending = new Pending(Pixels(uploads), uploads.Select(u => u.Name).ToArray(), top, evidence);
        bool lead;
        lock (queue)
        {
            queue.Add(pending);
            lead = !running;
            running = true;
        }
        if (lead) RunQueue(pending);
        return await pending.Done.Task;
    }

    /// <summary>
    /// The uploads fitted to the model as uint8 pixels, channel-major, one image after another: decoded on
    /// the request's own thread into a managed array (no tensor per request; a batch makes one), the
    /// first bad image in upload order refused.
    /// </summary>
    public byte[] Pixels(IReadOnlyList<Upload> uploads)
    {
        var shape = Description.InputShape;
        var (c, h, w) = ((int)shape[0], (int)shape[1], (int)shape[2]);
        var size = c * h * w;
        var pixels = GC.AllocateUninitializedArray<byte>(uploads.Count * size);
        for (var i = 0; i < uploads.Count; i++)
            ImageDecoder.DecodeInto(uploads[i].Bytes, uploads[i].Name, c, h, w, pixels.AsSpan(i * size, size));
        return pixels;
    }

    private sealed record Pending(byte[] Pixels, string[] Names, int Top, bool Evidence)
    {
        public TaskCompletionSource<(IReadOnlyList<Prediction> Predictions, IReadOnlyList<PrototypeExplanation>? Prototypes)> Done { get; } =
            new(TaskCreationOptions.RunContinuationsAsynchronously);
    }

    private readonly List<Pending> queue = [];
    private bool running;
    private long batches, batched;

    /// <summary>Batches run and requests they answered so far (batching seen from outside).</summary>
    internal (long Batches, long Requests) BatchCounts => (Interlocked.Read(ref batches), Interlocked.Read(ref batched));

    /// <summary>
    /// Holds the queue as if a batch were running, so requests made meanwhile wait; disposing it runs them
    /// (as one batch, up to <see cref="MaxBatch"/>). For tests of batching.
    /// </summary>
    internal IDisposable Hold()
    {
        lock (queue)
        {
            if (running) throw new InvalidOperationException("the queue is running");
            running = true;
        }
        return new Held(this);
    }

    private sealed class Held(ModelSnapshot snapshot) : IDisposable
    {
        private int done;

        public void Dispose()
        {
            if (Interlocked.Exchange(ref done, 1) == 0) Task.Run(() => snapshot.RunQueue(null));
        }
    }

    /// <summary>Runs queued requests in batches until the queue is empty; a request's thread hands the rest to the pool once its own answer is ready.</summary>
    private void RunQueue(Pending? own)
    {
        while (true)
        {
            Pending[] batch;
            lock (queue)
            {
                if (queue.Count == 0)
                {
                    running = false;
                    return;
                }
                if (own is { Done.Task.IsCompleted: true })
                {
                    Task.Run(() => RunQueue(null));
                    return;
                }
                batch = queue.Take(MaxBatch).ToArray();
                queue.RemoveRange(0, batch.Length);
            }
            Interlocked.Increment(ref batches);
            Interlocked.Add(ref batched, batch.Length);
            try
            {
                IReadOnlyList<Prediction> all;
                IReadOnlyList<PrototypeExplanation>? prototypes = null;
                lock (gate)
                {
                    using var scope = NewDisposeScope();
                    using var noGrad = no_grad();
                    var names = batch.Length == 1 ? batch[0].Names : batch.SelectMany(p => p.Names).ToArray();
                    var pixels = batch.Length == 1 ? batch[0].Pixels : Concat(batch);
                    var shape = Description.InputShape;
                    var images = tensor(pixels, [names.Length, shape[0], shape[1], shape[2]]);
                    all = Predictor.PredictRaw(images, names, batch.Max(p => p.Top));
                    if (Nearest is not null && batch.Any(p => p.Evidence)) all = Nearest.Explain(all);
                    if (Parts is not null && batch.Any(p => p.Evidence)) prototypes = PrototypeExplainer.Explain(Parts, images);
                }
                var start = 0;
                foreach (var p in batch)
                {
                    var mine = new Prediction[p.Names.Length];
                    for (var i = 0; i < mine.Length; i++)
                        mine[i] = all[start + i].Top.Count > p.Top ? all[start + i] with { Top = all[start + i].Top.Take(p.Top).ToArray() } : all[start + i];
                    var explained = prototypes is not null && p.Evidence ? prototypes.Skip(start).Take(mine.Length).ToArray() : null;
                    start += p.Names.Length;
                    p.Done.SetResult((mine, explained));
                }
            }
            catch (Exception e)
            {
                foreach (var p in batch) p.Done.TrySetException(e);
            }
        }
    }

    private static byte[] Concat(Pending[] batch)
    {
        var all = GC.AllocateUninitializedArray<byte>(batch.Sum(p => p.Pixels.Length));
        var at = 0;
        foreach (var p in batch)
        {
            p.Pixels.CopyTo(all, at);
            at += p.Pixels.Length;
        }
        return all;
    }

    /// <summary>
    /// The Grad-CAM map (the registry's default method) of <paramref name="entry"/>'s image for the class
    /// it was predicted as, rendered as a PNG (input, overlay, map). Gradients are enabled only inside the
    /// method, under a dispose scope and the snapshot's lock. Classes only grow, so a note taken on an
    /// earlier version names the same class here.
    /// </summary>
    public byte[] SaliencyPng(SaliencyMaps.Entry entry)
    {
        var shape = Description.InputShape;
        Explanation explanation;
        byte[] raw;
        lock (gate)
        {
            explained ??= new ExplainedModel(Bundle);
            using var scope = NewDisposeScope();
            var images = Decode([entry.Image]);
            raw = images.data<byte>().ToArray();
            var method = Explainers.Create(Explainers.Default);
            using var targets = tensor(new long[] { entry.Class });
            var map = method.Explain(explained, ExplainedModel.Pixels(images), targets).to(float32).contiguous();
            explanation = new Explanation(entry.Image.Name, method.Name, entry.Class, entry.ClassName, entry.Probability, false,
                (int)shape[1], (int)shape[2], map.ToFloats());
        }
        return SaliencyOverlay.Render(raw, (int)shape[0], explanation);
    }

    /// <summary>Requests run together at most this many at a time.</summary>
    private const int MaxBatch = 256;

    public void Dispose()
    {
        Predictor.Dispose();
        Nearest?.Dispose();
        Bundle.Dispose();
    }
}

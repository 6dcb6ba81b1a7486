using Protea.Data;
using Protea.Deploy;
using Protea.Models;
using Protea.Predictions;
using Protea.Search;
using TorchSharp;
using static TorchSharp.torch;

namespace Protea.Evaluation;

/// <summary>How well one class separates from the others in the embedding.</summary>
/// <param name="NeighbourAccuracy">Share of the class's items whose nearest other item is of the class.</param>
/// <param name="MostConfusedWith">The class most often nearest instead (null when none is).</param>
/// <param name="Silhouette">Mean silhouette of the class's items.</param>
public sealed record ClassSeparability(string Class, int Items, double NeighbourAccuracy, string? MostConfusedWith, double MostConfusedShare, double Silhouette);

/// <summary>
/// `protea separability`'s numbers, all on the L2-normalised embeddings (the geometry search uses):
/// the ratio of between-class to within-class scatter, trace(S_B) / trace(S_W); the mean
/// silhouette with Euclidean distances (scikit-learn's silhouette_score); the nearest-neighbour
/// confusion (row: an item's class, column: the class of its nearest other item, by cosine) and
/// its accuracy; NMI of k-means against the classes; and the 2-D PCA projection for the map.
/// </summary>
public sealed record SeparabilityReport(
    string Data, string Split, int Items, int Classes, int EmbeddingDim, double ScatterRatio, double Silhouette, double NeighbourAccuracy,
    IReadOnlyList<ClassSeparability> PerClass, long[][] NeighbourConfusion, IReadOnlyList<string> ClassNames)
{
    /// <summary>The items' coordinates on the first two principal components, [Items][2] (not serialised).</summary>
    [System.Text.Json.Serialization.JsonIgnore]
    public double[][] Map { get; init; } = [];

    /// <summary>The items' class indices, in the order of <see cref="Map"/> (not serialised).</summary>
    [System.Text.Json.Serialization.JsonIgnore]
    public long[] Labels { get; init; } = [];

    /// <summary>
    /// NMI between the classes and plain k-means on the same normalised rows (k = the classes present,
    /// 5 seeded k-means++ restarts): 1 when the clusters the embedding forms by itself are the classes.
    /// </summary>
    public double KMeansNmi { get; init; }
}

/// <summary>Separability of a model's embeddings on a labelled data set (<see cref="SeparabilityReport"/>).</summary>
public static class Separability
{
    /// <summary>Silhouette and the neighbour confusion cost items^2; above this many items a seeded, class-stratified-by-chance sample is used.</summary>
    public const int DefaultMaxItems = 10_000;

    private const int Block = 1024;

    /// <summary>
    /// Embeds the data's test split (its training items when it has none) with the model on the
    /// engine chosen, samples at most <paramref name="maxItems"/> labelled items (seeded), and measures them.
    /// Sets no torch threads: the host does.
    /// </summary>
    public static SeparabilityReport Run(string modelDir, DataSpec spec, EngineChoice engine = EngineChoice.Auto, int threads = 0,
        int maxItems = DefaultMaxItems, int seed = 0, CancellationToken cancellation = default)
    {
        if (maxItems < 2) throw new ProteaException($"separability needs at least 2 items, not {maxItems}", "max_items");
        var description = ModelBundle.ReadDescription(modelDir);
        var fitted = ModelInputs.ForModel(spec, description);
        using var splits = fitted.Load();
        var (source, split) = splits.Test is { Count: > 0 } test ? (test, "test") : (splits.Train, "train");
        ModelInputs.CheckCompatible(source, description, fitted);
        using var labelled = source.Subset(Enumerable.Range(0, source.Count).Where(i => source.Labels[i] >= 0).Select(i => (long)i).ToArray());
        using var sampled = labelled.Count > maxItems ? labelled.Sample(maxItems, seed) : null;
        var data = sampled ?? labelled;
        if (data.Count < 2) throw new ProteaException($"{source.Source}: {data.Count} labelled items; separability needs at least 2", "data");
        using var opened = InferenceEngines.Open(modelDir, engine, threads);
        var output = InferenceEngines.RunAll(opened, data, cancellation: cancellation);
        using var raw = tensor(output.Embeddings, [output.Count, output.EmbeddingDim]);
        return Compute(raw, data.Labels.ToArray(), data.ClassNames, fitted.ToString(), split);
    }

    /// <summary>The report for embeddings [N, D] (normalised here) with class indices into <paramref name="classNames"/>.</summary>
    public static SeparabilityReport Compute(Tensor embeddings, long[] labels, IReadOnlyList<string> classNames, string data = "", string split = "")
    {
        var n = (int)embeddings.shape[0];
        if (labels.Length != n) throw new ArgumentException($"{labels.Length} labels for {n} embeddings", nameof(labels));
        if (labels.Any(l => l < 0 || l >= classNames.Count)) throw new ArgumentException("every label must index a class name", nameof(labels));
        var present = labels.Distinct().Count();
        if (present < 2)
            throw new ProteaException($"{data}: the items are of {present} class; separability compares at least 2", "data");
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        var z = nn.functional.normalize(embeddings.to(float64), p: 2, dim: 1);
        var k = classNames.Count;
        var y = tensor(labels);
        var oneHot = nn.functional.one_hot(y, k).to(float64);             // [N, C]
        var counts = oneHot.sum([0L]);                                       // [C]
        var countsArray = counts.data<double>().ToArray();

        // Scatter: S_W = sum_i ||z_i - mu_y||^2, S_B = sum_c n_c ||mu_c - mu||^2.
        var safeCounts = counts.clamp_min(1).unsqueeze(1);
        var means = oneHot.t().mm(z).div(safeCounts);                    // [C, D]
        var within = z.sub(means.index_select(0, y)).pow(2).sum().item<double>();
        var overall = z.mean([0], keepdim: true);
        var between = means.sub(overall).pow(2).sum(1).mul(counts).sum().item<double>();
        var scatterRatio = within > 0 ? between / within : double.PositiveInfinity;

        // Silhouette and nearest neighbours, a block of rows at a time.
        var silhouettes = new double[n];
        var confusion = Enumerable.Range(0, k).Select(_ => new long[k]).ToArray();
        for (var start = 0; start < n; start += Block)
        {
            using var inner = NewDisposeScope();
            var count = Math.Min(Block, n - start);
            var rows = z.narrow(0, start, count);
            var cosine = rows.mm(z.t());                                  // [B, N]
            using var two = 2.ToScalar();
            using var zero = 0.ToScalar();
            var distance = cosine.mul(two).neg().add(two).clamp_min(zero).sqrt();
            var sums = distance.mm(oneHot).data<double>().ToArray();      // [B, C] distance sums per class (self adds 0)
            var selfIndex = arange(start, start + count, dtype: int64);
            var nearest = cosine.index_put_(tensor(double.NegativeInfinity), arange(count, dtype: int64), selfIndex).argmax(1).data<long>().ToArray();
            for (var b = 0; b < count; b++)
            {
                var i = start + b;
                var own = (int)labels[i];
                confusion[own][labels[nearest[b]]]++;
                if (countsArray[own] <= 1) { silhouettes[i] = 0; continue; } // scikit-learn: 0 for a singleton cluster
                var a = sums[b * k + own] / (countsArray[own] - 1);
                var nearestOther = double.PositiveInfinity;
                for (var c = 0; c < k; c++)
                    if (c != own && countsArray[c] > 0)
                        nearestOther = Math.Min(nearestOther, sums[b * k + c] / countsArray[c]);
                var denominator = Math.Max(a, nearestOther);
                silhouettes[i] = denominator > 0 ? (nearestOther - a) / denominator : 0;
            }
        }

        var perClass = new List<ClassSeparability>();
        for (var c = 0; c < k; c++)
        {
            var items = (int)countsArray[c];
            if (items == 0) continue;
            var row = confusion[c];
            var other = Enumerable.Range(0, k).Where(j => j != c && row[j] > 0).OrderByDescending(j => row[j]).ThenBy(j => j).ToArray();
            perClass.Add(new ClassSeparability(classNames[c], items, (double)row[c] / items,
                other.Length > 0 ? classNames[other[0]] : null, other.Length > 0 ? (double)row[other[0]] / items : 0,
                Enumerable.Range(0, n).Where(i => labels[i] == c).Average(i => silhouettes[i])));
        }
        var neighbourAccuracy = (double)Enumerable.Range(0, k).Sum(c => confusion[c][c]) / n;
        double nmi;
        using (var rows = z.to(float32))
        using (var clusters = Discovery.SemiSupervisedKMeans.Fit(rows, Enumerable.Repeat(-1L, n).ToArray(), present, new Discovery.KMeansOptions()))
            nmi = ClusteringMetrics.Nmi(labels.Select(l => (int)l).ToArray(), clusters.Assignments);
        return new SeparabilityReport(data, split, n, present, (int)z.shape[1], scatterRatio, silhouettes.Average(), neighbourAccuracy,
            perClass, confusion, classNames.ToArray())
        {
            KMeansNmi = nmi,
            Map = Pca2(z),
            Labels = labels,
        };
    }

    /// <summary>Coordinates on the first two principal components of the rows (centred; float64 eigen-decomposition of the covariance).</summary>
    public static double[][] Pca2(Tensor rows)
    {
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        var x = rows.to(float64);
        var centred = x.sub(x.mean([0], keepdim: true));
        var covariance = centred.t().mm(centred).div(Math.Max(1, x.shape[0] - 1));
        var (_, vectors) = linalg.eigh(covariance);                      // ascending eigenvalues
        var d = vectors.shape[1];
        var top = d >= 2 ? vectors.narrow(1, d - 2, 2).flip(1) : cat([vectors, zeros_like(vectors)], 1);
        // A deterministic sign: each component's largest-magnitude loading is positive (as scikit-learn's svd_flip).
        var biggest = top.abs().argmax(0);
        var signs = top.gather(0, biggest.unsqueeze(0)).sign();
        var projected = centred.mm(top.mul(signs));
        var flat = projected.data<double>().ToArray();
        return Enumerable.Range(0, (int)x.shape[0]).Select(i => new[] { flat[2 * i], flat[2 * i + 1] }).ToArray();
    }
}

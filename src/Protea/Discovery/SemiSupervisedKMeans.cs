using TorchSharp;
using static TorchSharp.torch;

namespace Protea.Discovery;

/// <summary>
/// Semi-supervised k-means (the GCD protocol, Vaze et al. 2022): labelled items stay in their class's
/// cluster (class c = cluster c) and pull its centroid; the first centroids start at the labelled class
/// means, the others by k-means++ (D² sampling) over the unlabelled items; Lloyd iterations assign each
/// unlabelled item to its nearest centroid. Several seeded restarts, the lowest inertia kept. Batched on
/// the embeddings with torch matrix products (float32, inertia summed in float64); without labelled items
/// it is plain k-means. An emptied cluster keeps its previous centroid.
/// </summary>
public static class SemiSupervisedKMeans
{
    /// <summary>Rows per distance block, so the [rows, K] distance matrix stays small.</summary>
    private const int Block = 16_384;

    private static readonly Scalar One = 1.0;

    /// <summary>Up to this many clusters, centroid sums are one matrix product with the one-hot assignment matrix.</summary>
    private const int OneHotMaxK = 256;

    /// <param name="x">Items [N, D] (any float type; used as float32).</param>
    /// <param name="labels">Per item its known class 0..C−1, or −1 when unlabelled; C ≤ <paramref name="k"/>.</param>
    public static KMeansResult Fit(Tensor x, IReadOnlyList<long> labels, int k, KMeansOptions? options = null)
    {
        var o = options ?? new KMeansOptions();
        var n = (int)x.shape[0];
        if (x.dim() != 2) throw new ArgumentException("items must be a [N, D] matrix", nameof(x));
        if (labels.Count != n) throw new ArgumentException($"{n} items but {labels.Count} labels", nameof(labels));
        if (n == 0) throw new ProteaException("clustering needs items; none were given", "data");
        if (k < 1) throw new ProteaException($"k {k}: at least 1 cluster is needed", "k");
        if (k > n) throw new ProteaException($"k {k} is larger than the {n} items to cluster", "k");
        var known = labels.Count == 0 ? 0 : (int)(labels.Max() + 1);
        if (known > k) throw new ProteaException($"k {k} is smaller than the {known} known classes", "k");
        if (o.Restarts < 1) throw new ProteaException($"restarts {o.Restarts}: at least 1 is needed", "restarts");
        if (o.MaxIterations < 1) throw new ProteaException($"iterations {o.MaxIterations}: at least 1 is needed", "iterations");

        using var scope = NewDisposeScope();
        var data = x.to(float32).contiguous();
        var fixedLabels = tensor(labels.Select(l => Math.Max(l, 0)).ToArray());
        var isLabelled = tensor(labels.Select(l => l >= 0).ToArray());
        var unlabelledRows = Enumerable.Range(0, n).Where(i => labels[i] < 0).Select(i => (long)i).ToArray();
        var candidates = unlabelledRows.Length > 0 ? data.index_select(0, tensor(unlabelledRows)) : data;
        var squaredNorms = data.square().sum(1);
        var threshold = o.Tolerance > 0 ? o.Tolerance * data.var(dim: 0).mean().ToDouble() : 0;

        // Labelled class means (a class with no labelled item gets a k-means++ centroid instead).
        var classMeans = zeros(k, data.shape[1], float32);
        var classCounts = zeros(k, float32);
        if (labels.Any(l => l >= 0))
        {
            var labelledRows = tensor(Enumerable.Range(0, n).Where(i => labels[i] >= 0).Select(i => (long)i).ToArray());
            var labelledClasses = fixedLabels.index_select(0, labelledRows);
            classMeans.index_add_(0, labelledClasses, data.index_select(0, labelledRows), One);
            classCounts.index_add_(0, labelledClasses, ones(labelledRows.shape[0], float32), One);
        }
        var seeded = Enumerable.Range(0, k).Where(c => c < known && classCounts[c].ToSingle() > 0).ToArray();
        classMeans = classMeans / classCounts.clamp_min(1).unsqueeze(1);

        KMeansResult? best = null;
        for (var restart = 0; restart < o.Restarts; restart++)
        {
            var random = new Random(o.Seed * 1000 + restart);
            var centroids = PlusPlus(candidates, classMeans, seeded, k, random);
            var (assign, inertia, iterations) = Lloyd(data, squaredNorms, fixedLabels, isLabelled, centroids, o.MaxIterations, threshold);
            if (best is null || inertia < best.Inertia)
            {
                best?.Dispose();
                best = new KMeansResult(assign, centroids.detach().clone().MoveToOuterDisposeScope(), inertia, iterations);
            }
        }
        return best!;
    }

    /// <summary>k-means++ for the clusters not in <paramref name="seeded"/>: D² sampling among <paramref name="candidates"/>.</summary>
    private static Tensor PlusPlus(Tensor candidates, Tensor classMeans, int[] seeded, int k, Random random)
    {
        var centroids = classMeans.clone();
        var norms = candidates.square().sum(1);
        var isSeeded = new bool[k];
        foreach (var c in seeded) isSeeded[c] = true;
        Tensor? nearest = null; // squared distance of each candidate to its nearest chosen centroid
        foreach (var c in seeded)
            nearest = Closer(nearest, candidates, norms, centroids[c]);
        for (var c = 0; c < k; c++)
        {
            if (isSeeded[c]) continue;
            var pick = Sample(nearest, (int)candidates.shape[0], random);
            centroids[c] = candidates[pick];
            nearest = Closer(nearest, candidates, norms, centroids[c]);
        }
        return centroids;
    }

    /// <summary>An index drawn with probability proportional to <paramref name="weights"/> (uniform when there are none or all are 0).</summary>
    private static long Sample(Tensor? weights, int count, Random random)
    {
        if (weights is null) return random.Next(count);
        using var scope = NewDisposeScope();
        var cumulative = weights.clamp_min(0).to(float64).cumsum(0);
        var total = cumulative[-1].ToDouble();
        if (!(total > 0)) return random.Next(count);
        using var target = tensor(new[] { random.NextDouble() * total }, float64);
        return Math.Min(searchsorted(cumulative, target, right: true).ToInt64(), count - 1);
    }

    private static Tensor Closer(Tensor? nearest, Tensor candidates, Tensor norms, Tensor centroid)
    {
        // ||x||² − 2 x·c + ||c||², one matrix-vector product.
        var d = candidates.mv(centroid).mul_(-2).add_(norms).add_(centroid.square().sum());
        return nearest is null ? d : minimum(nearest, d);
    }

    private static (int[] Assign, double Inertia, int Iterations) Lloyd(Tensor data, Tensor squaredNorms, Tensor fixedLabels, Tensor isLabelled,
        Tensor centroids, int maxIterations, double threshold)
    {
        var k = centroids.shape[0];
        var d = data.shape[1];
        Tensor assign = fixedLabels;
        Tensor? previous = null;
        double inertia = 0;
        var iterations = 0;
        var ones = torch.ones(data.shape[0], float32);
        while (true)
        {
            (assign, inertia) = Assign(data, squaredNorms, fixedLabels, isLabelled, centroids);
            if (iterations == maxIterations) break;
            if (previous is not null && !assign.ne(previous).any().ToBoolean()) break;
            iterations++;
            // Per-cluster sums and counts: a one-hot matrix product for moderate k (libtorch's CPU index_add_
            // adds row by row, many times slower), index_add_ beyond that to bound the [N, K] memory.
            Tensor sums, counts;
            if (k <= OneHotMaxK)
            {
                var oneHot = nn.functional.one_hot(assign, k).to(float32);
                sums = oneHot.t().mm(data);
                counts = oneHot.sum(dim: 0);
            }
            else
            {
                sums = zeros(k, d, float32).index_add_(0, assign, data, One);
                counts = zeros(k, float32).index_add_(0, assign, ones, One);
            }
            var updated = where((counts > 0).unsqueeze(1), sums / counts.clamp_min(1).unsqueeze(1), centroids);
            var shift = (updated - centroids).square().sum().ToDouble();
            centroids.copy_(updated);
            previous = assign;
            if (threshold > 0 && shift <= threshold)
            {
                (assign, inertia) = Assign(data, squaredNorms, fixedLabels, isLabelled, centroids);
                break;
            }
        }
        var result = assign.to(int32).data<int>().ToArray();
        return (result, inertia, iterations);
    }

    /// <summary>Each item's nearest centroid (labelled items: their class), and the inertia.</summary>
    private static (Tensor Assign, double Inertia) Assign(Tensor data, Tensor squaredNorms, Tensor fixedLabels, Tensor isLabelled, Tensor centroids)
    {
        var n = data.shape[0];
        var centroidNorms = centroids.square().sum(1).unsqueeze(0);
        var parts = new List<Tensor>();
        var inertia = 0.0;
        for (long start = 0; start < n; start += Block)
        {
            using var scope = NewDisposeScope();
            var count = Math.Min(Block, n - start);
            // ||x||² − 2 x·c + ||c||², the [rows, K] squared distances.
            var distances = addmm(centroidNorms, data.narrow(0, start, count), centroids.t(), beta: 1, alpha: -2)
                .add_(squaredNorms.narrow(0, start, count).unsqueeze(1));
            var nearest = distances.argmin(1);
            var chosen = where(isLabelled.narrow(0, start, count), fixedLabels.narrow(0, start, count), nearest);
            inertia += distances.gather(1, chosen.unsqueeze(1)).clamp_min(0).to(float64).sum().ToDouble();
            parts.Add(chosen.MoveToOuterDisposeScope());
        }
        return (parts.Count == 1 ? parts[0] : cat(parts, 0), inertia);
    }
}

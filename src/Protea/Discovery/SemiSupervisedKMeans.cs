using Protea.Models;
using TorchSharp;
using static TorchSharp.torch;

namespace Protea.Discovery;

/// <summary>
/// Semi-supervised k-means (the GCD protocol, Vaze et al. 2022): labelled items stay in their class's
/// cluster (class c = cluster c) and pull its centroid; the first centroids start at the labelled class
/// means, the others by k-means++ (D² sampling) over the unlabelled items; Lloyd iterations assign each
/// unlabelled item to its nearest centroid. Several seeded restarts, the lowest inertia kept. The loops run
/// in <see cref="KMeansKernel"/> (float32 SIMD on managed rows, torch's thread count, inertia summed in
/// float64); without labelled items it is plain k-means. An emptied cluster keeps its previous centroid.
/// </summary>
public static class SemiSupervisedKMeans
{
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

        var d = (int)x.shape[1];
        var values = x.ToFloats();
        var kernel = new KMeansKernel(values, n, d, torch.get_num_threads());
        var fixedLabels = labels.ToArray();
        var candidates = Enumerable.Range(0, n).Where(i => labels[i] < 0).ToArray();
        if (candidates.Length == 0) candidates = Enumerable.Range(0, n).ToArray();
        double threshold = 0;
        if (o.Tolerance > 0)
            using (var scope = NewDisposeScope())
                threshold = o.Tolerance * x.to(float32).var(dim: 0).mean().ToDouble();

        // Labelled class means (a class with no labelled item gets a k-means++ centroid instead), summed in float64.
        var means = new double[k * d];
        var classCounts = new long[k];
        for (var i = 0; i < n; i++)
        {
            if (labels[i] < 0) continue;
            var c = (int)labels[i];
            classCounts[c]++;
            for (var t = 0; t < d; t++) means[c * d + t] += values[i * d + t];
        }
        var classMeans = new float[k * d];
        for (var c = 0; c < k; c++)
            for (var t = 0; t < d; t++)
                classMeans[c * d + t] = classCounts[c] > 0 ? (float)(means[c * d + t] / classCounts[c]) : 0f;
        var seeded = Enumerable.Range(0, k).Where(c => c < known && classCounts[c] > 0).ToArray();

        KMeansResult? best = null;
        for (var restart = 0; restart < o.Restarts; restart++)
        {
            var random = new Random(o.Seed * 1000 + restart);
            var centroids = PlusPlus(kernel, candidates, classMeans, seeded, k, d, random);
            var (assign, inertia, iterations) = Lloyd(kernel, fixedLabels, centroids, k, o.MaxIterations, threshold);
            if (best is null || inertia < best.Inertia)
            {
                best?.Dispose();
                best = new KMeansResult(assign, tensor(centroids, [k, d]), inertia, iterations);
            }
        }
        return best!;
    }

    /// <summary>k-means++ for the clusters not in <paramref name="seeded"/>: D² sampling among the <paramref name="candidates"/> rows.</summary>
    private static float[] PlusPlus(KMeansKernel kernel, int[] candidates, float[] classMeans, int[] seeded, int k, int d, Random random)
    {
        var centroids = (float[])classMeans.Clone();
        var isSeeded = new bool[k];
        foreach (var c in seeded) isSeeded[c] = true;
        float[]? nearest = null; // squared distance of each candidate to its nearest chosen centroid
        foreach (var c in seeded)
            nearest = kernel.Closer(nearest, candidates, centroids.AsSpan(c * d, d));
        for (var c = 0; c < k; c++)
        {
            if (isSeeded[c]) continue;
            kernel.CopyRow(candidates[Sample(nearest, candidates.Length, random)], centroids, c);
            nearest = kernel.Closer(nearest, candidates, centroids.AsSpan(c * d, d));
        }
        return centroids;
    }

    /// <summary>An index drawn with probability proportional to <paramref name="weights"/> (uniform when there are none or all are 0).</summary>
    private static int Sample(float[]? weights, int count, Random random)
    {
        if (weights is null) return random.Next(count);
        var cumulative = new double[count];
        var total = 0.0;
        for (var i = 0; i < count; i++) cumulative[i] = total += Math.Max(weights[i], 0f);
        if (!(total > 0)) return random.Next(count);
        var target = random.NextDouble() * total;
        // The first index whose cumulative weight exceeds the target.
        int lo = 0, hi = count;
        while (lo < hi)
        {
            var mid = (lo + hi) >>> 1;
            if (cumulative[mid] > target) hi = mid;
            else lo = mid + 1;
        }
        return Math.Min(lo, count - 1);
    }

    private static (int[] Assign, double Inertia, int Iterations) Lloyd(KMeansKernel kernel, long[] labels, float[] centroids, int k,
        int maxIterations, double threshold)
    {
        var assign = new int[kernel.Count];
        var previous = new int[kernel.Count];
        var iterations = 0;
        var (inertia, sums) = kernel.Assign(centroids, k, labels, assign);
        while (iterations < maxIterations)
        {
            iterations++;
            var shift = kernel.Move(sums, centroids, k);
            (previous, assign) = (assign, previous);
            (inertia, sums) = kernel.Assign(centroids, k, labels, assign);
            if (assign.AsSpan().SequenceEqual(previous) || (threshold > 0 && shift <= threshold)) break;
        }
        return (assign, inertia, iterations);
    }
}

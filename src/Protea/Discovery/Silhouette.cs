using TorchSharp;
using static TorchSharp.torch;

namespace Protea.Discovery;

/// <summary>
/// The mean silhouette coefficient (Rousseeuw 1987, Euclidean distances, as scikit-learn's
/// silhouette_score): per item (b − a) / max(a, b), a its mean distance to the rest of its cluster, b the
/// smallest mean distance to another cluster; 0 for an item alone in its cluster. O(N²): callers pass a sample.
/// </summary>
public static class Silhouette
{
    public static double Score(Tensor x, IReadOnlyList<int> clusters)
    {
        var n = (int)x.shape[0];
        if (clusters.Count != n) throw new ArgumentException($"{n} items but {clusters.Count} cluster ids", nameof(clusters));
        var ids = clusters.Distinct().Order().Select((c, i) => (c, i)).ToDictionary(p => p.c, p => (long)p.i);
        if (ids.Count < 2 || ids.Count >= n) throw new ArgumentException("the silhouette needs 2 ≤ clusters < items", nameof(clusters));
        using var scope = NewDisposeScope();
        var data = x.to(float64);
        var distances = cdist(data, data);
        var index = tensor(clusters.Select(c => ids[c]).ToArray());
        var oneHot = nn.functional.one_hot(index, ids.Count).to(float64);        // [N, K]
        var sums = distances.mm(oneHot);                                            // [N, K] summed distance to each cluster
        var counts = oneHot.sum(dim: 0);                                                  // [K]
        var own = counts.index_select(0, index);                                     // [N]
        var a = sums.gather(1, index.unsqueeze(1)).squeeze(1) / (own - 1).clamp_min(1);
        var means = sums / counts.unsqueeze(0);
        var b = means.masked_fill(oneHot.to(@bool), double.PositiveInfinity).min(1).values;
        var s = ((b - a) / maximum(a, b).clamp_min(1e-300)).masked_fill(own.le(1), 0);
        return s.mean().ToDouble();
    }
}

using static TorchSharp.torch;

namespace Protea.Prototypes;

/// <summary>What hygiene kept: the prototypes' indices (in order), how many were merged and pruned, and how many remain per class.</summary>
public sealed record HygieneResult(int[] Keep, int Merged, int Pruned, int[] PerClass);

/// <summary>
/// After the last push: prototypes that projected onto the same patch (same item, same cell) are merged
/// (the first is kept and takes the others' last-layer columns, so the logits do not change); a
/// prototype is pruned when fewer than half of the k training images nearest to it (each image by its
/// nearest patch) are of its class (ProtoPNet's pruning, k = 6, threshold 3). A class never loses its
/// last prototype.
/// </summary>
public static class PrototypeHygiene
{
    /// <param name="sources">Each prototype's source after the push.</param>
    /// <param name="minDistances">[N, P] every training image's smallest distance to each prototype.</param>
    /// <param name="lastLayer">[K, P] the last layer; merged columns are summed into the kept one (in place).</param>
    public static HygieneResult Apply(IReadOnlyList<PrototypeSource?> sources, IReadOnlyList<int> classes, Tensor minDistances, long[] labels,
        int k, Tensor lastLayer, int numClasses)
    {
        var p = classes.Count;
        var alive = Enumerable.Repeat(true, p).ToArray();
        var merged = 0;
        using (no_grad())
            for (var j = 0; j < p; j++)
            {
                if (!alive[j] || sources[j] is not { } s) continue;
                for (var i = j + 1; i < p; i++)
                    if (alive[i] && sources[i] is { } t && t.ItemId == s.ItemId && t.Row == s.Row && t.Col == s.Col && classes[i] == classes[j])
                    {
                        using var column = lastLayer.select(1, i);
                        using var into = lastLayer.select(1, j);
                        into.add_(column);
                        alive[i] = false;
                        merged++;
                    }
            }
        var pruned = 0;
        var n = minDistances.shape[0];
        var kk = (int)Math.Min(k, n);
        if (kk > 0)
        {
            using var nearest = minDistances.topk(kk, dim: 0, largest: false).indexes;     // [k, P]
            var index = nearest.data<long>().ToArray();
            var ownCount = new int[p];
            for (var r = 0; r < kk; r++)
                for (var j = 0; j < p; j++)
                    if (labels[index[r * p + j]] == classes[j]) ownCount[j]++;
            foreach (var j in Enumerable.Range(0, p).Where(j => alive[j] && 2 * ownCount[j] < kk).OrderBy(j => ownCount[j]))
            {
                if (Enumerable.Range(0, p).Count(i => alive[i] && classes[i] == classes[j]) <= 1) continue;
                alive[j] = false;
                pruned++;
            }
        }
        var keep = Enumerable.Range(0, p).Where(j => alive[j]).ToArray();
        var perClass = new int[numClasses];
        foreach (var j in keep) perClass[classes[j]]++;
        return new HygieneResult(keep, merged, pruned, perClass);
    }
}

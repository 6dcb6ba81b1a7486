using static TorchSharp.torch;

namespace Protea.Incremental;

/// <summary>
/// Exemplar selection for a class. Herding (Welling 2009; iCaRL): from L2-normalised embeddings,
/// greedily add the item that brings the mean of those chosen closest to the class mean, so each
/// prefix of the order is a good small summary (the memory shrinks by cutting the order). Random: a
/// seeded random order.
/// </summary>
public static class Herding
{
    /// <summary>Up to <paramref name="count"/> row indices of <paramref name="embeddings"/> [N, D], in herding order.</summary>
    public static int[] Select(Tensor embeddings, int count)
    {
        using var scope = NewDisposeScope();
        var x = nn.functional.normalize(embeddings.to(float64), dim: 1);
        var n = (int)x.shape[0];
        var d = (int)x.shape[1];
        var rows = x.data<double>().ToArray();
        var mu = x.mean([0]).data<double>().ToArray();
        var chosen = new List<int>();
        var sum = new double[d];
        var taken = new bool[n];
        for (var k = 1; k <= Math.Min(count, n); k++)
        {
            var best = -1;
            var bestDistance = double.PositiveInfinity;
            for (var i = 0; i < n; i++)
            {
                if (taken[i]) continue;
                double dist = 0;
                for (var j = 0; j < d; j++)
                {
                    var diff = mu[j] - (sum[j] + rows[i * d + j]) / k;
                    dist += diff * diff;
                }
                if (dist < bestDistance) (best, bestDistance) = (i, dist);
            }
            taken[best] = true;
            chosen.Add(best);
            for (var j = 0; j < d; j++) sum[j] += rows[best * d + j];
        }
        return chosen.ToArray();
    }

    /// <summary>Up to <paramref name="count"/> of <paramref name="n"/> indices in a seeded random order.</summary>
    public static int[] Random(int n, int count, int seed)
    {
        var order = Enumerable.Range(0, n).ToArray();
        new System.Random(seed).Shuffle(order);
        return order.Take(Math.Min(count, n)).ToArray();
    }
}

using Protea.Search;
using static TorchSharp.torch;

namespace Protea.Tests.Search;

public sealed class ExactSearchTests
{
    /// <summary>Random normalised rows against a double-precision brute-force loop, over several query batches.</summary>
    [Fact]
    public void TopK_MatchesBruteForce()
    {
        var random = new Random(7);
        float[] Rows(int n, int d) => Enumerable.Range(0, n * d).Select(_ => (float)(random.NextDouble() * 2 - 1)).ToArray();
        const int n = 300, d = 16, q = 37, k = 9;
        using var rawIndex = tensor(Rows(n, d), [n, d]);
        using var rawQueries = tensor(Rows(q, d), [q, d]);
        using var index = ExactSearch.Normalize(rawIndex);
        using var queries = ExactSearch.Normalize(rawQueries);
        var ix = index.data<float>().ToArray();
        var qs = queries.data<float>().ToArray();
        // The normalisation itself: unit rows.
        for (var i = 0; i < n; i++)
            Assert.Equal(1.0, Math.Sqrt(Enumerable.Range(0, d).Sum(j => (double)ix[i * d + j] * ix[i * d + j])), 5);

        var (sims, rows, kk) = ExactSearch.TopK(index, queries, k, queryBatch: 5);
        Assert.Equal(k, kk);
        for (var a = 0; a < q; a++)
        {
            var brute = Enumerable.Range(0, n)
                .Select(i => (i, s: Enumerable.Range(0, d).Sum(j => (double)qs[a * d + j] * ix[i * d + j])))
                .OrderByDescending(x => x.s).ThenBy(x => x.i).Take(k).ToArray();
            for (var j = 0; j < k; j++)
            {
                Assert.Equal(brute[j].i, rows[a * k + j]);
                Assert.True(Math.Abs(brute[j].s - sims[a * k + j]) < 1e-5, $"query {a} rank {j}: {sims[a * k + j]} vs {brute[j].s}");
            }
        }
    }

    /// <summary>
    /// Ties (exactly representable similarities): tied items inside the k are listed by ascending row; where
    /// a tie straddles the k-th place, any of the tied items may be the last.
    /// </summary>
    [Fact]
    public void TopK_OrdersTiesByRowAndKeepsOnlyTiedItemsAtTheBoundary()
    {
        float[] e0 = [1, 0, 0], e1 = [0, 1, 0], e2 = [0, 0, 1];
        using var index = tensor(new[] { e1, e0, e2, e0, e1, e0 }.SelectMany(r => r).ToArray(), [6, 3]);
        using var query = tensor(e0, [1, 3]);
        var (sims, rows, k) = ExactSearch.TopK(index, query, 3);
        Assert.Equal(3, k);
        Assert.Equal([1L, 3, 5], rows);
        Assert.Equal([1f, 1, 1], sims);

        (sims, rows, k) = ExactSearch.TopK(index, query, 5);
        Assert.Equal([1L, 3, 5], rows[..3]);
        Assert.Contains(rows[3], new long[] { 0, 2, 4 });
        Assert.Contains(rows[4], new long[] { 0, 2, 4 });
        Assert.True(rows[3] < rows[4]);
        Assert.Equal([1f, 1, 1, 0, 0], sims);

        // k beyond the index: every row, once.
        (_, rows, k) = ExactSearch.TopK(index, query, 50);
        Assert.Equal(6, k);
        Assert.Equal([0L, 1, 2, 3, 4, 5], rows.Order().ToArray());
    }
}

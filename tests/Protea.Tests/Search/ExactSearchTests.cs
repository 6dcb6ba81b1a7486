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
            Assert.Equal(1.0, Math.Sqrt(Enumerable.Range(0, d).Sum(j => (double)ix[i * d + j] * ix[i * d + j])), 1e-5);

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
        Assert.Equal([0L, 2], rows[3..]); // the blocked kernel keeps the lowest tied rows
        Assert.Equal([1f, 1, 1, 0, 0], sims);

        // k beyond the index: every row, once.
        (_, rows, k) = ExactSearch.TopK(index, query, 50);
        Assert.Equal(6, k);
        Assert.Equal([0L, 1, 2, 3, 4, 5], rows.Order().ToArray());
    }

    /// <summary>Each register width the kernel has, restored afterwards (the setting is process-wide).</summary>
    public static TheoryData<int> Widths => new() { 512, 256, 128 };

    private static T WithWidth<T>(int bits, Func<T> run)
    {
        var before = ExactSearch.MaxVectorBits;
        ExactSearch.MaxVectorBits = bits;
        try
        {
            Assert.True(ExactSearch.VectorBits <= bits);
            return run();
        }
        finally { ExactSearch.MaxVectorBits = before; }
    }

    /// <summary>
    /// The blocked kernel against a double-precision brute force on every path: few queries (item-major) and
    /// many (panels, a partly filled last panel), an item count that is not a multiple of the kernel's step of six,
    /// a dimension that is not a multiple of any register width, item ranges merged (over 8,192 items), k = 1,
    /// k = 9 and k beyond the items. At every rank the returned row's true similarity equals the brute force's
    /// (to float32 rounding), rows are distinct and similarities descend.
    /// </summary>
    [Theory]
    [MemberData(nameof(Widths))]
    public void BlockedPaths_MatchBruteForce(int bits)
    {
        var random = new Random(11);
        float[] Rows(int n, int d) => Enumerable.Range(0, n * d).Select(_ => (float)(random.NextDouble() * 2 - 1)).ToArray();
        foreach (var (n, d, q) in new[] { (9_005, 37, 70), (9_005, 37, 3), (40, 20, 45), (13, 3, 1) })
        {
            using var index = ExactSearch.Normalize(tensor(Rows(n, d), [n, d]));
            using var queries = ExactSearch.Normalize(tensor(Rows(q, d), [q, d]));
            var ix = index.data<float>().ToArray();
            var qs = queries.data<float>().ToArray();
            var truth = Enumerable.Range(0, q).Select(a => Enumerable.Range(0, n)
                .Select(i => Enumerable.Range(0, d).Sum(j => (double)qs[a * d + j] * ix[i * d + j])).ToArray()).ToArray();
            var sorted = truth.Select(t => t.OrderDescending().ToArray()).ToArray();
            foreach (var k in new[] { 1, 9, n + 5 })
            {
                var (sims, rows, kk) = WithWidth(bits, () => ExactSearch.TopK(index, queries, k, queryBatch: 64));
                Assert.Equal(Math.Min(k, n), kk);
                for (var a = 0; a < q; a++)
                {
                    double Score(long i) => truth[a][i];
                    var brute = sorted[a];
                    var got = rows.AsSpan(a * kk, kk).ToArray();
                    Assert.Equal(kk, got.Distinct().Count());
                    for (var j = 0; j < kk; j++)
                    {
                        var actual = Score(got[j]);
                        Assert.True(Math.Abs(actual - brute[j]) < 2e-6, $"n {n} q {a} k {k} rank {j}: row {got[j]} has {actual}, brute force {brute[j]}");
                        Assert.True(Math.Abs(actual - sims[a * kk + j]) < 2e-6, $"n {n} q {a} rank {j}: reported {sims[a * kk + j]} vs {actual}");
                        if (j > 0) Assert.True(sims[a * kk + j] <= sims[a * kk + j - 1]);
                    }
                }
            }
        }
    }

    /// <summary>
    /// Exact ties, also at the k-th place and across the two item ranges (9,000 items are split in halves):
    /// of tied items the lowest rows are kept, listed by ascending row, on both the few-query and the panel path.
    /// </summary>
    [Theory]
    [MemberData(nameof(Widths))]
    public void BlockedPaths_KeepLowestRowsOfTies(int bits)
    {
        const int n = 9_000, d = 4;
        var flat = new float[n * d];
        void Set(int row, float x, float y) => (flat[row * d], flat[row * d + 1]) = (x, y);
        for (var i = 0; i < n; i++) Set(i, 0, 1);                 // similarity 0
        foreach (var i in new[] { 8_000, 5_000 }) Set(i, 1, 0);   // similarity 1
        foreach (var i in new[] { 8_500, 7_000, 4_600, 100 }) Set(i, 0.5f, 0.5f); // similarity 0.5 (exact in float32)
        using var index = tensor(flat, [n, d]);
        foreach (var q in new[] { 1, 40 })
        {
            var e0 = Enumerable.Range(0, q).SelectMany(_ => new float[] { 1, 0, 0, 0 }).ToArray();
            using var queries = tensor(e0, [q, d]);
            var (sims, rows, _) = WithWidth(bits, () => ExactSearch.TopK(index, queries, 3));
            var (sims8, rows8, _) = WithWidth(bits, () => ExactSearch.TopK(index, queries, 8));
            for (var a = 0; a < q; a++)
            {
                Assert.Equal([5_000L, 8_000, 100], rows.AsSpan(a * 3, 3).ToArray());
                Assert.Equal([1f, 1, 0.5f], sims.AsSpan(a * 3, 3).ToArray());
                Assert.Equal([5_000L, 8_000, 100, 4_600, 7_000, 8_500, 0, 1], rows8.AsSpan(a * 8, 8).ToArray());
                Assert.Equal([1f, 1, 0.5f, 0.5f, 0.5f, 0.5f, 0, 0], sims8.AsSpan(a * 8, 8).ToArray());
            }
        }
    }

    /// <summary>An item whose embedding is not a number is never among the best; it fills the last place with a NaN similarity.</summary>
    [Fact]
    public void TopK_ListsNaNItemsLast()
    {
        using var index = tensor(new float[] { 1, 0, float.NaN, float.NaN, 0, 1 }, [3, 2]);
        using var query = tensor(new float[] { 0.6f, 0.8f }, [1, 2]);
        var (sims, rows, k) = ExactSearch.TopK(index, query, 5);
        Assert.Equal(3, k);
        Assert.Equal([2L, 0, 1], rows);
        Assert.Equal(0.8f, sims[0]);
        Assert.Equal(0.6f, sims[1]);
        Assert.True(float.IsNaN(sims[2]));
    }
}

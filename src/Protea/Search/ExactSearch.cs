using TorchSharp;
using static TorchSharp.torch;

namespace Protea.Search;

/// <summary>
/// The k nearest index rows of each query by cosine similarity: one matrix multiplication of
/// L2-normalised queries with the index and a top-k, a batch of queries at a time, so memory stays at
/// batch × items similarities whatever the number of queries.
/// </summary>
public static class ExactSearch
{
    /// <summary>Queries per matrix multiplication unless asked otherwise (256 × 60,000 similarities = 61 MB).</summary>
    public const int DefaultQueryBatch = 256;

    /// <summary>Rows scaled to unit L2 norm (a zero row stays zero); float32 [N, D] in, a new tensor out.</summary>
    public static Tensor Normalize(Tensor rows)
    {
        using var scope = NewDisposeScope();
        return nn.functional.normalize(rows.to_type(ScalarType.Float32), p: 2, dim: 1).MoveToOuterDisposeScope();
    }

    /// <summary>
    /// For each query row, the <paramref name="k"/> index rows of highest similarity (dot product; both
    /// normalised by the caller), highest first; equal similarities are listed by ascending index row.
    /// Returns row-major [Q, k'] arrays with k' = min(k, index rows).
    /// </summary>
    public static (float[] Similarities, long[] Indices, int K) TopK(Tensor index, Tensor queries, int k, int queryBatch = DefaultQueryBatch)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(k, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(queryBatch, 1);
        if (index.dim() != 2 || queries.dim() != 2 || index.shape[1] != queries.shape[1])
            throw new ArgumentException($"index [{string.Join(", ", index.shape)}] and queries [{string.Join(", ", queries.shape)}] must be [N, D] and [Q, D]");
        var q = (int)queries.shape[0];
        var kk = (int)Math.Min(k, index.shape[0]);
        var similarities = new float[(long)q * kk];
        var indices = new long[(long)q * kk];
        ForEachBatch(index, queries, kk, queryBatch, (start, count, sims, idx) =>
        {
            sims.CopyTo(similarities.AsSpan(start * kk, count * kk));
            idx.CopyTo(indices.AsSpan(start * kk, count * kk));
        });
        return (similarities, indices, kk);
    }

    /// <summary>The batch a <see cref="ForEachBatch"/> callback receives: queries [start, start + count), row-major [count, k].</summary>
    public delegate void BatchResult(int start, int count, ReadOnlySpan<float> similarities, ReadOnlySpan<long> indices);

    /// <summary>As <see cref="TopK"/>, handing each batch of queries' results to <paramref name="onBatch"/> instead of keeping them all.</summary>
    public static void ForEachBatch(Tensor index, Tensor queries, int k, int queryBatch, BatchResult onBatch, CancellationToken cancellation = default)
    {
        var q = (int)queries.shape[0];
        var kk = (int)Math.Min(k, index.shape[0]);
        if (kk < 1 || q == 0) return;
        for (var start = 0; start < q; start += queryBatch)
        {
            cancellation.ThrowIfCancellationRequested();
            var count = Math.Min(queryBatch, q - start);
            using var scope = NewDisposeScope();
            var sims = queries.narrow(0, start, count).matmul(index.t());
            var (values, rows) = sims.topk(kk, dim: 1, largest: true, sorted: true);
            var v = values.contiguous().data<float>().ToArray();
            var ix = rows.contiguous().data<long>().ToArray();
            for (var r = 0; r < count; r++)
                OrderTies(v.AsSpan(r * kk, kk), ix.AsSpan(r * kk, kk));
            onBatch(start, count, v, ix);
        }
    }

    /// <summary>Within runs of equal similarity, ascending index row, so results do not depend on topk's order among ties.</summary>
    private static void OrderTies(Span<float> values, Span<long> rows)
    {
        var i = 0;
        while (i < values.Length)
        {
            var j = i + 1;
            while (j < values.Length && values[j] == values[i]) j++;
            if (j - i > 1) rows[i..j].Sort();
            i = j;
        }
    }
}

using System.Runtime.Intrinsics;
using Protea.Models;
using TorchSharp;
using static TorchSharp.torch;

namespace Protea.Search;

/// <summary>
/// The k nearest index rows of each query by cosine similarity (dot products of rows the caller has
/// L2-normalised), exact: <see cref="BlockedTopK"/>'s fused multiply-and-select kernel on the CPU's SIMD
/// registers, a batch of queries at a time, over <c>torch.get_num_threads()</c> threads. Memory stays at the
/// queries plus k results each; no [queries × items] similarity matrix is formed.
/// </summary>
public static class ExactSearch
{
    /// <summary>Queries per batch handed to a <see cref="ForEachBatch"/> callback unless asked otherwise.</summary>
    public const int DefaultQueryBatch = 256;

    /// <summary>
    /// The widest SIMD registers the search kernel may use, in bits: 512 (AVX-512), 256 (AVX2) or 128; the
    /// kernel takes the widest this CPU accelerates up to this. Lower it to run (or test) the narrower paths.
    /// </summary>
    public static int MaxVectorBits { get; set; } = 512;

    /// <summary>The register width, in bits, the kernel uses on this CPU under <see cref="MaxVectorBits"/>.</summary>
    public static int VectorBits =>
        MaxVectorBits >= 512 && Vector512.IsHardwareAccelerated ? 512
        : MaxVectorBits >= 256 && Vector256.IsHardwareAccelerated ? 256
        : 128;

    /// <summary>Rows scaled to unit L2 norm (a zero row stays zero); float32 [N, D] in, a new tensor out.</summary>
    public static Tensor Normalize(Tensor rows)
    {
        using var scope = NewDisposeScope();
        return nn.functional.normalize(rows.to_type(ScalarType.Float32), p: 2, dim: 1).MoveToOuterDisposeScope();
    }

    /// <summary>
    /// For each query row, the <paramref name="k"/> index rows of highest similarity (dot product; both
    /// normalised by the caller), highest first; equal similarities are listed by ascending index row (also
    /// at the k-th place: of tied rows, the lowest are kept). Returns row-major [Q, k'] arrays with
    /// k' = min(k, index rows).
    /// </summary>
    public static (float[] Similarities, long[] Indices, int K) TopK(Tensor index, Tensor queries, int k, int queryBatch = DefaultQueryBatch)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(k, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(queryBatch, 1);
        CheckShapes(index, queries);
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
        ArgumentOutOfRangeException.ThrowIfLessThan(queryBatch, 1);
        CheckShapes(index, queries);
        var q = (int)queries.shape[0];
        var kk = (int)Math.Min(k, index.shape[0]);
        if (kk < 1 || q == 0) return;
        using var scope = NewDisposeScope();
        var items = index.dtype == ScalarType.Float32 && index.is_contiguous() ? index : index.to_type(ScalarType.Float32).contiguous();
        var rows = queries.ToFloats();
        var threads = get_num_threads();
        var bits = VectorBits;
        var batch = Math.Min(queryBatch, q);
        var sims = new float[batch * kk];
        var idx = new long[batch * kk];
        for (var start = 0; start < q; start += queryBatch)
        {
            cancellation.ThrowIfCancellationRequested();
            var count = Math.Min(queryBatch, q - start);
            BlockedTopK.Search(items, rows, start, count, kk, threads, bits, sims, idx);
            onBatch(start, count, sims.AsSpan(0, count * kk), idx.AsSpan(0, count * kk));
        }
    }

    private static void CheckShapes(Tensor index, Tensor queries)
    {
        if (index.dim() != 2 || queries.dim() != 2 || index.shape[1] != queries.shape[1])
            throw new ArgumentException($"index [{string.Join(", ", index.shape)}] and queries [{string.Join(", ", queries.shape)}] must be [N, D] and [Q, D]");
    }
}

using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using static TorchSharp.torch;

namespace Protea.Search;

/// <summary>
/// Exact top-k by dot product without materialising the [queries × items] similarity matrix: the queries
/// are packed into panels of two SIMD registers' width (dimension-major), and each item row is multiplied
/// into a panel six items at a time, its components broadcast, so every similarity ends in a register.
/// There it is compared with the k-th best similarity so far of each query of the panel (one compare per
/// register); only the rare item that beats it enters that query's heap. Work is split over groups of
/// panels × ranges of items (a thread count's worth), the items walked in L2-sized chunks that every
/// panel of the group passes over before the next chunk; heaps of item ranges are merged at the end.
/// Ties: items of equal similarity rank by ascending row, also at the k-th place, so the result is
/// the exact top-k under (similarity descending, row ascending) whatever the thread count.
/// Similarities are float32 sums of products in dimension order (fused multiply-add where the CPU has it).
/// </summary>
internal static class BlockedTopK
{
    /// <summary>Item rows per kernel step (6 × 2 accumulator registers fit 16 AVX2 registers with the loads).</summary>
    private const int Step = 6;

    /// <summary>Items per cache block (512 × 128 dimensions × 4 B = 256 KB, held in L2 while the group's panels pass).</summary>
    private const int ChunkBytes = 256 * 1024;

    /// <summary>Up to this many queries take the item-major path (<see cref="RunFew"/>).</summary>
    private const int FewQueries = 8;

    /// <summary>No item range shorter than this is split off for another thread.</summary>
    private const int MinItemsPerRange = 4096;

    /// <summary>
    /// The <paramref name="k"/> best rows of <paramref name="items"/> [N, D] (float32, contiguous, on the CPU)
    /// for queries[first .. first + count) of the row-major <paramref name="queries"/> [*, D], written row-major
    /// [count, k] into <paramref name="similarities"/> and <paramref name="rows"/>; k ≤ N.
    /// </summary>
    public static void Search(Tensor items, float[] queries, int first, int count, int k, int threads, int vectorBits,
        float[] similarities, long[] rows)
    {
        if (vectorBits >= 512) Run<Vector512<float>, Lanes512>(items, queries, first, count, k, threads, similarities, rows);
        else if (vectorBits >= 256) Run<Vector256<float>, Lanes256>(items, queries, first, count, k, threads, similarities, rows);
        else Run<Vector128<float>, Lanes128>(items, queries, first, count, k, threads, similarities, rows);
    }

    private static void Run<TV, TL>(Tensor items, float[] queries, int first, int count, int k, int threads, float[] similarities, long[] rows)
        where TV : struct where TL : struct, ILanes<TV>
    {
        if (count <= FewQueries)
        {
            RunFew<TV, TL>(items, queries, first, count, k, threads, similarities, rows);
            return;
        }
        var n = (int)items.shape[0];
        var d = (int)items.shape[1];
        var width = 2 * TL.Count;
        var panels = (count + width - 1) / width;
        var packed = new float[(long)panels * d * width];
        for (var q = 0; q < count; q++)
        {
            var (p, lane) = Math.DivRem(q, width);
            var source = queries.AsSpan((first + q) * d, d);
            for (var t = 0; t < d; t++) packed[((long)p * d + t) * width + lane] = source[t];
        }

        threads = Math.Max(1, threads);
        var groups = Math.Min(panels, threads);
        // More item ranges when there are fewer panel groups than threads, and a few for load balance when k is
        // small (the merge then costs little); never ranges shorter than MinItemsPerRange.
        var wanted = groups < threads ? (threads + groups - 1) / groups : k <= 64 ? 2 : 1;
        var ranges = Math.Max(Math.Clamp(wanted, 1, Math.Max(1, n / MinItemsPerRange)), MinRanges(n, d));
        var units = new Heaps[groups * ranges];
        Parallel.For(0, units.Length, new ParallelOptions { MaxDegreeOfParallelism = threads }, u =>
        {
            var (g, r) = Math.DivRem(u, ranges);
            int p0 = (int)((long)panels * g / groups), p1 = (int)((long)panels * (g + 1) / groups);
            int i0 = (int)((long)n * r / ranges), i1 = (int)((long)n * (r + 1) / ranges);
            var heaps = new Heaps(p0 * width, Math.Min(count, p1 * width), (p1 - p0) * width, k);
            Scan<TV, TL>(items, packed, d, p0, p1, i0, i1, heaps);
            units[u] = heaps;
        });

        Merge(units, groups, ranges, n, k, similarities, rows);
    }

    /// <summary>
    /// A handful of queries: item-major dot products (two accumulators per query, summed across the register),
    /// memory-bound on the items rather than spending a panel's lanes on absent queries; item ranges in parallel.
    /// </summary>
    private static void RunFew<TV, TL>(Tensor items, float[] queries, int first, int count, int k, int threads, float[] similarities, long[] rows)
        where TV : struct where TL : struct, ILanes<TV>
    {
        var n = (int)items.shape[0];
        var d = (int)items.shape[1];
        var ranges = Math.Max(Math.Clamp(Math.Max(1, threads), 1, Math.Max(1, n / MinItemsPerRange)), MinRanges(n, d));
        var units = new Heaps[ranges];
        Parallel.For(0, ranges, new ParallelOptions { MaxDegreeOfParallelism = Math.Max(1, threads) }, r =>
        {
            int i0 = (int)((long)n * r / ranges), i1 = (int)((long)n * (r + 1) / ranges);
            var heaps = new Heaps(0, count, count, k);
            using var part = items.narrow(0, i0, i1 - i0);
            var all = MemoryMarshal.Cast<byte, float>(part.bytes);
            var w = TL.Count;
            var vectors = d / (2 * w) * 2 * w;
            for (var i = i0; i < i1; i++)
            {
                var x = all.Slice((i - i0) * d, d);
                ref var x0 = ref MemoryMarshal.GetReference(x);
                for (var q = 0; q < count; q++)
                {
                    var query = queries.AsSpan((first + q) * d, d);
                    ref var q0 = ref MemoryMarshal.GetReference(query);
                    TV a = default, b = default;
                    for (var t = 0; t < vectors; t += 2 * w)
                    {
                        a = TL.MultiplyAdd(TL.Load(ref Unsafe.Add(ref x0, t)), TL.Load(ref Unsafe.Add(ref q0, t)), a);
                        b = TL.MultiplyAdd(TL.Load(ref Unsafe.Add(ref x0, t + w)), TL.Load(ref Unsafe.Add(ref q0, t + w)), b);
                    }
                    var score = TL.Sum(TL.Add(a, b));
                    for (var t = vectors; t < d; t++) score += x[t] * query[t];
                    if (score > heaps.Thresholds[q]) heaps.Push(q, score, i);
                }
            }
            units[r] = heaps;
        });
        Merge(units, 1, ranges, n, k, similarities, rows);
    }

    /// <summary>Per query, the k best of its heaps over the item ranges (similarity descending, row ascending) into the outputs.</summary>
    private static void Merge(Heaps[] units, int groups, int ranges, int n, int k, float[] similarities, long[] rows)
    {
        var candidates = new List<(float Score, int Row)>(k * ranges);
        for (var g = 0; g < groups; g++)
        {
            var owner = units[g * ranges];
            for (var q = owner.FirstQuery; q < owner.EndQuery; q++)
            {
                candidates.Clear();
                for (var r = 0; r < ranges; r++) units[g * ranges + r].AddTo(q, candidates);
                candidates.Sort(static (a, b) => a.Score != b.Score ? b.Score.CompareTo(a.Score) : a.Row.CompareTo(b.Row));
                var output = q * k;
                var j = 0;
                for (; j < Math.Min(k, candidates.Count); j++)
                    (similarities[output + j], rows[output + j]) = (candidates[j].Score, candidates[j].Row);
                if (j < k) FillMissing(candidates, n, similarities.AsSpan(output + j, k - j), rows.AsSpan(output + j, k - j));
            }
        }
    }

    /// <summary>Item ranges needed so that each is under 1 GiB (a span over native memory holds under 2 GiB).</summary>
    private static int MinRanges(int n, int d) => (int)Math.Ceiling((double)n * d * sizeof(float) / (1L << 30));

    /// <summary>
    /// Only items whose similarity is not a number (a NaN embedding) are never offered to a heap; they fill the
    /// remaining places, by ascending row, with a NaN similarity, as sorting would list them last.
    /// </summary>
    private static void FillMissing(List<(float Score, int Row)> taken, int n, Span<float> similarities, Span<long> rows)
    {
        var seen = taken.Select(c => c.Row).ToHashSet();
        var j = 0;
        for (var i = 0; i < n && j < rows.Length; i++)
            if (!seen.Contains(i)) (similarities[j], rows[j++]) = (float.NaN, i);
    }

    /// <summary>Items [i0, i1) against the query panels [p0, p1), chunk by chunk; better items go to <paramref name="heaps"/>.</summary>
    private static void Scan<TV, TL>(Tensor items, float[] packed, int d, int p0, int p1, int i0, int i1, Heaps heaps)
        where TV : struct where TL : struct, ILanes<TV>
    {
        var width = 2 * TL.Count;
        var chunk = Math.Max(Step, ChunkBytes / (4 * Math.Max(1, d)) / Step * Step);
        using var part = items.narrow(0, i0, i1 - i0);
        var all = MemoryMarshal.Cast<byte, float>(part.bytes);
        Span<float> scores = stackalloc float[Step * width];
        for (var c0 = i0; c0 < i1; c0 += chunk)
        {
            var c1 = Math.Min(i1, c0 + chunk);
            for (var p = p0; p < p1; p++)
            {
                var local = (p - p0) * width;
                ref var panel = ref packed[(long)p * d * width];
                var i = c0;
                for (; i + Step <= c1; i += Step)
                    Kernel6<TV, TL>(ref panel, all.Slice((i - i0) * d, Step * d), d, i, local, heaps, scores);
                for (; i < c1; i++)
                    Kernel1<TV, TL>(ref panel, all.Slice((i - i0) * d, d), d, i, local, heaps, scores);
            }
        }
    }

    /// <summary>Six item rows (<paramref name="rows"/>, contiguous) against one panel; <paramref name="row"/> is the first item's row.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Kernel6<TV, TL>(ref float panel, ReadOnlySpan<float> rows, int d, int row, int local, Heaps heaps, Span<float> scores)
        where TV : struct where TL : struct, ILanes<TV>
    {
        var w = TL.Count;
        ref var x0 = ref MemoryMarshal.GetReference(rows);
        ref var x1 = ref Unsafe.Add(ref x0, d);
        ref var x2 = ref Unsafe.Add(ref x1, d);
        ref var x3 = ref Unsafe.Add(ref x2, d);
        ref var x4 = ref Unsafe.Add(ref x3, d);
        ref var x5 = ref Unsafe.Add(ref x4, d);
        TV a0 = default, b0 = default, a1 = default, b1 = default, a2 = default, b2 = default;
        TV a3 = default, b3 = default, a4 = default, b4 = default, a5 = default, b5 = default;
        ref var p = ref panel;
        for (var t = 0; t < d; t++)
        {
            var lo = TL.Load(ref p);
            var hi = TL.Load(ref Unsafe.Add(ref p, w));
            p = ref Unsafe.Add(ref p, 2 * w);
            var v = TL.Splat(Unsafe.Add(ref x0, t));
            a0 = TL.MultiplyAdd(lo, v, a0); b0 = TL.MultiplyAdd(hi, v, b0);
            v = TL.Splat(Unsafe.Add(ref x1, t));
            a1 = TL.MultiplyAdd(lo, v, a1); b1 = TL.MultiplyAdd(hi, v, b1);
            v = TL.Splat(Unsafe.Add(ref x2, t));
            a2 = TL.MultiplyAdd(lo, v, a2); b2 = TL.MultiplyAdd(hi, v, b2);
            v = TL.Splat(Unsafe.Add(ref x3, t));
            a3 = TL.MultiplyAdd(lo, v, a3); b3 = TL.MultiplyAdd(hi, v, b3);
            v = TL.Splat(Unsafe.Add(ref x4, t));
            a4 = TL.MultiplyAdd(lo, v, a4); b4 = TL.MultiplyAdd(hi, v, b4);
            v = TL.Splat(Unsafe.Add(ref x5, t));
            a5 = TL.MultiplyAdd(lo, v, a5); b5 = TL.MultiplyAdd(hi, v, b5);
        }
        // Stored before any comparison: a call (Offer) while the accumulators are live would make the JIT spill them in the loop.
        ref var o = ref MemoryMarshal.GetReference(scores);
        TL.Store(a0, ref o); TL.Store(b0, ref Unsafe.Add(ref o, w));
        TL.Store(a1, ref Unsafe.Add(ref o, 2 * w)); TL.Store(b1, ref Unsafe.Add(ref o, 3 * w));
        TL.Store(a2, ref Unsafe.Add(ref o, 4 * w)); TL.Store(b2, ref Unsafe.Add(ref o, 5 * w));
        TL.Store(a3, ref Unsafe.Add(ref o, 6 * w)); TL.Store(b3, ref Unsafe.Add(ref o, 7 * w));
        TL.Store(a4, ref Unsafe.Add(ref o, 8 * w)); TL.Store(b4, ref Unsafe.Add(ref o, 9 * w));
        TL.Store(a5, ref Unsafe.Add(ref o, 10 * w)); TL.Store(b5, ref Unsafe.Add(ref o, 11 * w));
        ref var threshold = ref heaps.Thresholds[local];
        for (var r = 0; r < Step; r++)
        {
            ref var at = ref Unsafe.Add(ref o, r * 2 * w);
            if (TL.AnyGreater(TL.Load(ref at), TL.Load(ref threshold)) || TL.AnyGreater(TL.Load(ref Unsafe.Add(ref at, w)), TL.Load(ref Unsafe.Add(ref threshold, w))))
                Offer(scores.Slice(r * 2 * w, 2 * w), row + r, local, heaps);
        }
    }

    /// <summary>One item row against one panel (the rows left after the steps of six).</summary>
    private static void Kernel1<TV, TL>(ref float panel, ReadOnlySpan<float> item, int d, int row, int local, Heaps heaps, Span<float> scores)
        where TV : struct where TL : struct, ILanes<TV>
    {
        var w = TL.Count;
        TV a = default, b = default;
        for (var t = 0; t < d; t++)
        {
            ref var p = ref Unsafe.Add(ref panel, t * 2 * w);
            var v = TL.Splat(item[t]);
            a = TL.MultiplyAdd(TL.Load(ref p), v, a);
            b = TL.MultiplyAdd(TL.Load(ref Unsafe.Add(ref p, w)), v, b);
        }
        ref var o = ref MemoryMarshal.GetReference(scores);
        TL.Store(a, ref o);
        TL.Store(b, ref Unsafe.Add(ref o, w));
        ref var threshold = ref heaps.Thresholds[local];
        if (TL.AnyGreater(a, TL.Load(ref threshold)) || TL.AnyGreater(b, TL.Load(ref Unsafe.Add(ref threshold, w))))
            Offer(scores[..(2 * w)], row, local, heaps);
    }

    /// <summary>A panel's similarities to item <paramref name="row"/>: each one above its query's threshold enters that query's heap.</summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    private static void Offer(ReadOnlySpan<float> scores, int row, int local, Heaps heaps)
    {
        for (var lane = 0; lane < scores.Length; lane++)
            if (scores[lane] > heaps.Thresholds[local + lane]) heaps.Push(local + lane, scores[lane], row);
    }

    /// <summary>
    /// One bounded heap per query of a panel group (worst at the root: lower similarity, or equal similarity and
    /// higher row), and each query's admission threshold: −∞ until its heap holds k, then the root's similarity;
    /// +∞ for the padding lanes of the last panel, which hold no query.
    /// </summary>
    private sealed class Heaps
    {
        private readonly float[] scores;
        private readonly int[] rows;
        private readonly int[] counts;
        private readonly int k;

        public Heaps(int firstQuery, int endQuery, int lanes, int k)
        {
            (FirstQuery, EndQuery, this.k) = (firstQuery, endQuery, k);
            var queries = endQuery - firstQuery;
            scores = new float[(long)queries * k];
            rows = new int[(long)queries * k];
            counts = new int[queries];
            Thresholds = new float[lanes];
            Thresholds.AsSpan(0, queries).Fill(float.NegativeInfinity);
            Thresholds.AsSpan(queries).Fill(float.PositiveInfinity);
        }

        public int FirstQuery { get; }
        public int EndQuery { get; }
        public float[] Thresholds { get; }

        private static bool Worse(float s, int r, float s2, int r2) => s < s2 || (s == s2 && r > r2);

        /// <summary>Offers (score, row) to query <paramref name="local"/>'s heap (rows arrive in ascending order).</summary>
        public void Push(int local, float score, int row)
        {
            var s = scores.AsSpan(local * k, k);
            var r = rows.AsSpan(local * k, k);
            var n = counts[local];
            if (n < k)
            {
                var i = n;
                while (i > 0)
                {
                    var parent = (i - 1) / 2;
                    if (!Worse(score, row, s[parent], r[parent])) break;
                    (s[i], r[i]) = (s[parent], r[parent]);
                    i = parent;
                }
                (s[i], r[i]) = (score, row);
                counts[local] = ++n;
                if (n == k) Thresholds[local] = s[0];
                return;
            }
            if (!Worse(s[0], r[0], score, row)) return;
            var at = 0;
            while (true)
            {
                var child = 2 * at + 1;
                if (child >= k) break;
                if (child + 1 < k && Worse(s[child + 1], r[child + 1], s[child], r[child])) child++;
                if (!Worse(s[child], r[child], score, row)) break;
                (s[at], r[at]) = (s[child], r[child]);
                at = child;
            }
            (s[at], r[at]) = (score, row);
            Thresholds[local] = s[0];
        }

        /// <summary>Query <paramref name="query"/>'s heap (by query number in the batch), unordered, into <paramref name="into"/>.</summary>
        public void AddTo(int query, List<(float, int)> into)
        {
            var local = query - FirstQuery;
            for (var j = 0; j < counts[local]; j++) into.Add((scores[local * k + j], rows[local * k + j]));
        }
    }

    /// <summary>The few vector operations the kernel needs, for each register width (the JIT specialises each).</summary>
    private interface ILanes<TV> where TV : struct
    {
        static abstract int Count { get; }
        static abstract TV Load(ref float at);
        static abstract void Store(TV value, ref float at);
        static abstract TV Splat(float value);
        static abstract TV MultiplyAdd(TV a, TV b, TV addend);
        static abstract bool AnyGreater(TV a, TV b);
        static abstract TV Add(TV a, TV b);
        static abstract float Sum(TV value);
    }

    private readonly struct Lanes512 : ILanes<Vector512<float>>
    {
        public static int Count => Vector512<float>.Count;
        [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector512<float> Load(ref float at) => Vector512.LoadUnsafe(ref at);
        [MethodImpl(MethodImplOptions.AggressiveInlining)] public static void Store(Vector512<float> value, ref float at) => value.StoreUnsafe(ref at);
        [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector512<float> Splat(float value) => Vector512.Create(value);
        [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector512<float> MultiplyAdd(Vector512<float> a, Vector512<float> b, Vector512<float> addend) => Vector512.MultiplyAddEstimate(a, b, addend);
        [MethodImpl(MethodImplOptions.AggressiveInlining)] public static bool AnyGreater(Vector512<float> a, Vector512<float> b) => Vector512.GreaterThanAny(a, b);
        [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector512<float> Add(Vector512<float> a, Vector512<float> b) => a + b;
        [MethodImpl(MethodImplOptions.AggressiveInlining)] public static float Sum(Vector512<float> value) => Vector512.Sum(value);
    }

    private readonly struct Lanes256 : ILanes<Vector256<float>>
    {
        public static int Count => Vector256<float>.Count;
        [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector256<float> Load(ref float at) => Vector256.LoadUnsafe(ref at);
        [MethodImpl(MethodImplOptions.AggressiveInlining)] public static void Store(Vector256<float> value, ref float at) => value.StoreUnsafe(ref at);
        [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector256<float> Splat(float value) => Vector256.Create(value);
        [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector256<float> MultiplyAdd(Vector256<float> a, Vector256<float> b, Vector256<float> addend) => Vector256.MultiplyAddEstimate(a, b, addend);
        [MethodImpl(MethodImplOptions.AggressiveInlining)] public static bool AnyGreater(Vector256<float> a, Vector256<float> b) => Vector256.GreaterThanAny(a, b);
        [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector256<float> Add(Vector256<float> a, Vector256<float> b) => a + b;
        [MethodImpl(MethodImplOptions.AggressiveInlining)] public static float Sum(Vector256<float> value) => Vector256.Sum(value);
    }

    private readonly struct Lanes128 : ILanes<Vector128<float>>
    {
        public static int Count => Vector128<float>.Count;
        [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector128<float> Load(ref float at) => Vector128.LoadUnsafe(ref at);
        [MethodImpl(MethodImplOptions.AggressiveInlining)] public static void Store(Vector128<float> value, ref float at) => value.StoreUnsafe(ref at);
        [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector128<float> Splat(float value) => Vector128.Create(value);
        [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector128<float> MultiplyAdd(Vector128<float> a, Vector128<float> b, Vector128<float> addend) => Vector128.MultiplyAddEstimate(a, b, addend);
        [MethodImpl(MethodImplOptions.AggressiveInlining)] public static bool AnyGreater(Vector128<float> a, Vector128<float> b) => Vector128.GreaterThanAny(a, b);
        [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector128<float> Add(Vector128<float> a, Vector128<float> b) => a + b;
        [MethodImpl(MethodImplOptions.AggressiveInlining)] public static float Sum(Vector128<float> value) => Vector128.Sum(value);
    }
}

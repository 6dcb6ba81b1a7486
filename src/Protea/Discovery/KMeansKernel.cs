using System.Numerics;
using System.Runtime.InteropServices;

namespace Protea.Discovery;

/// <summary>
/// The inner loops of <see cref="SemiSupervisedKMeans"/> on float32 rows in managed memory: nearest-centroid
/// assignment (squared distance ||x||² − 2 x·c + ||c||², SIMD dot products, four centroids per pass over a row)
/// fused with the per-cluster sums (one pass over the data per Lloyd iteration), and k-means++'s
/// nearest-centre distances. Each pass is one parallel loop over fixed chunks of rows whose partial
/// results are combined in chunk order, so the results do not depend on the thread count. (Torch ops
/// cost one thread fork-join each; Lloyd's steps are many small ones.)
/// </summary>
internal sealed class KMeansKernel
{
    /// <summary>Rows per chunk: one unit of parallel work with its own partial sums.</summary>
    private const int Chunk = 2048;

    private readonly float[] data;
    private readonly int n, d;
    private readonly ParallelOptions parallel;

    public KMeansKernel(float[] data, int n, int d, int threads)
    {
        (this.data, this.n, this.d) = (data, n, d);
        parallel = new ParallelOptions { MaxDegreeOfParallelism = Math.Max(1, threads) };
        Norms = new float[n];
        For(n, (start, end) =>
        {
            for (var i = start; i < end; i++) Norms[i] = Dot(Row(i), Row(i));
        });
    }

    /// <summary>||x||² per row.</summary>
    public float[] Norms { get; }

    public int Count => n;

    private ReadOnlySpan<float> Row(int i) => data.AsSpan(i * d, d);

    private int Chunks(int rows) => (rows + Chunk - 1) / Chunk;

    /// <summary>Runs <paramref name="body"/>(start, end) over fixed chunks of [0, rows).</summary>
    private void For(int rows, Action<int, int> body) =>
        Parallel.For(0, Chunks(rows), parallel, c => body(c * Chunk, Math.Min(rows, (c + 1) * Chunk)));

    private static float Dot(ReadOnlySpan<float> a, ReadOnlySpan<float> b)
    {
        var va = MemoryMarshal.Cast<float, Vector<float>>(a);
        var vb = MemoryMarshal.Cast<float, Vector<float>>(b);
        var acc = Vector<float>.Zero;
        for (var v = 0; v < va.Length; v++) acc += va[v] * vb[v];
        var sum = Vector.Sum(acc);
        for (var j = va.Length * Vector<float>.Count; j < a.Length; j++) sum += a[j] * b[j];
        return sum;
    }

    /// <summary>dots[j] = x·c_j for the k rows of <paramref name="centroids"/>, four centroids per pass over x.</summary>
    private void Dots(ReadOnlySpan<float> x, float[] centroids, int k, Span<float> dots)
    {
        var vx = MemoryMarshal.Cast<float, Vector<float>>(x);
        var tail = vx.Length * Vector<float>.Count;
        var j = 0;
        for (; j + 4 <= k; j += 4)
        {
            var c0 = centroids.AsSpan(j * d, d);
            var c1 = centroids.AsSpan((j + 1) * d, d);
            var c2 = centroids.AsSpan((j + 2) * d, d);
            var c3 = centroids.AsSpan((j + 3) * d, d);
            var v0 = MemoryMarshal.Cast<float, Vector<float>>(c0);
            var v1 = MemoryMarshal.Cast<float, Vector<float>>(c1);
            var v2 = MemoryMarshal.Cast<float, Vector<float>>(c2);
            var v3 = MemoryMarshal.Cast<float, Vector<float>>(c3);
            Vector<float> a0 = default, a1 = default, a2 = default, a3 = default;
            for (var v = 0; v < vx.Length; v++)
            {
                var xv = vx[v];
                a0 += xv * v0[v];
                a1 += xv * v1[v];
                a2 += xv * v2[v];
                a3 += xv * v3[v];
            }
            float s0 = Vector.Sum(a0), s1 = Vector.Sum(a1), s2 = Vector.Sum(a2), s3 = Vector.Sum(a3);
            for (var t = tail; t < d; t++)
            {
                s0 += x[t] * c0[t];
                s1 += x[t] * c1[t];
                s2 += x[t] * c2[t];
                s3 += x[t] * c3[t];
            }
            (dots[j], dots[j + 1], dots[j + 2], dots[j + 3]) = (s0, s1, s2, s3);
        }
        for (; j + 2 <= k; j += 2)
        {
            var c0 = centroids.AsSpan(j * d, d);
            var c1 = centroids.AsSpan((j + 1) * d, d);
            var v0 = MemoryMarshal.Cast<float, Vector<float>>(c0);
            var v1 = MemoryMarshal.Cast<float, Vector<float>>(c1);
            Vector<float> a0 = default, a1 = default, b0 = default, b1 = default;
            var v = 0;
            // Two accumulators per centroid halve the dependency chain.
            for (; v + 2 <= vx.Length; v += 2)
            {
                a0 += vx[v] * v0[v];
                a1 += vx[v] * v1[v];
                b0 += vx[v + 1] * v0[v + 1];
                b1 += vx[v + 1] * v1[v + 1];
            }
            for (; v < vx.Length; v++)
            {
                a0 += vx[v] * v0[v];
                a1 += vx[v] * v1[v];
            }
            float s0 = Vector.Sum(a0 + b0), s1 = Vector.Sum(a1 + b1);
            for (var t = tail; t < d; t++)
            {
                s0 += x[t] * c0[t];
                s1 += x[t] * c1[t];
            }
            (dots[j], dots[j + 1]) = (s0, s1);
        }
        for (; j < k; j++) dots[j] = Dot(x, centroids.AsSpan(j * d, d));
    }

    private float[] CentroidNorms(float[] centroids, int k)
    {
        var norms = new float[k];
        for (var j = 0; j < k; j++) norms[j] = Dot(centroids.AsSpan(j * d, d), centroids.AsSpan(j * d, d));
        return norms;
    }

    /// <summary>
    /// Each row's nearest centroid into <paramref name="assign"/> (a labelled row, label ≥ 0, keeps its class),
    /// and each cluster's sum of rows, added in the same pass while the row is in cache (Lloyd's next update,
    /// <see cref="Move"/>). Returns the inertia, the summed squared distances (each clamped at 0), in float64.
    /// </summary>
    public (double Inertia, ClusterSums Sums) Assign(float[] centroids, int k, long[] labels, int[] assign)
    {
        var cn = CentroidNorms(centroids, k);
        var chunks = Chunks(n);
        var partial = new double[chunks];
        var sums = new ClusterSums(new float[chunks][], new int[chunks][]);
        For(n, (start, end) =>
        {
            var dots = new float[k];
            var s = new float[k * d];
            var counts = new int[k];
            double sum = 0;
            for (var i = start; i < end; i++)
            {
                var x = Row(i);
                int best;
                float distance;
                if (labels[i] >= 0)
                {
                    best = (int)labels[i];
                    distance = Norms[i] - 2 * Dot(x, centroids.AsSpan(best * d, d)) + cn[best];
                }
                else
                {
                    Dots(x, centroids, k, dots);
                    (best, distance) = (0, float.PositiveInfinity);
                    for (var j = 0; j < k; j++)
                    {
                        var dj = Norms[i] - 2 * dots[j] + cn[j];
                        if (dj < distance) (best, distance) = (j, dj);
                    }
                }
                assign[i] = best;
                sum += Math.Max(distance, 0f);
                counts[best]++;
                var target = MemoryMarshal.Cast<float, Vector<float>>(s.AsSpan(best * d, d));
                var source = MemoryMarshal.Cast<float, Vector<float>>(x);
                for (var v = 0; v < target.Length; v++) target[v] += source[v];
                for (var t = target.Length * Vector<float>.Count; t < d; t++) s[best * d + t] += x[t];
            }
            var c = start / Chunk;
            (partial[c], sums.Sums[c], sums.Counts[c]) = (sum, s, counts);
        });
        var total = 0.0;
        foreach (var p in partial) total += p;
        return (total, sums);
    }

    /// <summary>Per chunk of rows, each cluster's sum of rows [k·d] and count, as <see cref="Assign"/> left them.</summary>
    public sealed record ClusterSums(float[][] Sums, int[][] Counts);

    /// <summary>
    /// Moves each centroid to the mean of its rows, the chunks' sums added in chunk order in float64 (a
    /// cluster left empty keeps its centroid); returns the summed squared shift of the centroids.
    /// </summary>
    public double Move(ClusterSums sums, float[] centroids, int k)
    {
        var shift = 0.0;
        var total = new double[d];
        for (var j = 0; j < k; j++)
        {
            long count = 0;
            Array.Clear(total);
            for (var c = 0; c < sums.Sums.Length; c++)
            {
                if (sums.Counts[c][j] == 0) continue;
                count += sums.Counts[c][j];
                for (var t = 0; t < d; t++) total[t] += sums.Sums[c][j * d + t];
            }
            if (count == 0) continue;
            for (var t = 0; t < d; t++)
            {
                var updated = (float)(total[t] / count);
                var delta = (double)updated - centroids[j * d + t];
                shift += delta * delta;
                centroids[j * d + t] = updated;
            }
        }
        return shift;
    }

    /// <summary>
    /// k-means++ step: <paramref name="nearest"/>[r] (squared distance of candidate row rows[r] to its nearest
    /// chosen centre, null before the first) lowered by the distance to <paramref name="centre"/>.
    /// </summary>
    public float[] Closer(float[]? nearest, int[] rows, ReadOnlySpan<float> centre)
    {
        var c = centre.ToArray();
        var cn = Dot(c, c);
        var result = nearest ?? new float[rows.Length];
        var first = nearest is null;
        For(rows.Length, (start, end) =>
        {
            for (var r = start; r < end; r++)
            {
                var i = rows[r];
                var distance = Norms[i] - 2 * Dot(Row(i), c) + cn;
                result[r] = first ? distance : Math.Min(result[r], distance);
            }
        });
        return result;
    }

    /// <summary>Copies row <paramref name="row"/> into centroid <paramref name="c"/>.</summary>
    public void CopyRow(int row, float[] centroids, int c) => Row(row).CopyTo(centroids.AsSpan(c * d, d));
}

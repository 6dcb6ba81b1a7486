using System.Diagnostics;
using Protea.Discovery;
using TorchSharp;
using static TorchSharp.torch;

namespace Protea.Bench;

/// <summary>
/// Semi-supervised k-means on embeddings read from a raw float32 file [N, D] (and optionally labels,
/// raw int64 [N], −1 unlabelled): the best of a few timed fits with one restart and a fixed iteration
/// budget (tolerance 0), as bench/discover.py compares against scikit-learn's KMeans.
/// </summary>
public static class KMeansBenchmark
{
    public sealed record Result(int N, int D, int K, int Iterations, double Seconds, double SecondsPerIteration, double Inertia, int Threads);

    public static Result Measure(string file, int dim, string? labelsFile, int k, int iterations, int repeats, int threads)
    {
        torch.set_num_threads(threads);
        var bytes = File.ReadAllBytes(file);
        var values = new float[bytes.Length / 4];
        Buffer.BlockCopy(bytes, 0, values, 0, bytes.Length);
        var n = values.Length / dim;
        using var x = tensor(values, [n, dim]);
        long[] labels;
        if (labelsFile is null) labels = Enumerable.Repeat(-1L, n).ToArray();
        else
        {
            var lb = File.ReadAllBytes(labelsFile);
            labels = new long[lb.Length / 8];
            Buffer.BlockCopy(lb, 0, labels, 0, lb.Length);
        }
        var options = new KMeansOptions { Restarts = 1, MaxIterations = iterations, Tolerance = 0, Seed = 0 };
        using (SemiSupervisedKMeans.Fit(x, labels, k, options with { MaxIterations = 2 })) { } // warm-up
        var best = double.PositiveInfinity;
        KMeansResult? kept = null;
        for (var r = 0; r < repeats; r++)
        {
            var watch = Stopwatch.StartNew();
            var result = SemiSupervisedKMeans.Fit(x, labels, k, options);
            var seconds = watch.Elapsed.TotalSeconds;
            if (seconds < best) { best = seconds; kept?.Dispose(); kept = result; } else result.Dispose();
        }
        using var final = kept!;
        return new Result(n, dim, k, final.Iterations, best, best / Math.Max(1, final.Iterations), final.Inertia, threads);
    }
}

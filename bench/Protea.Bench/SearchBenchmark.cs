using System.Diagnostics;
using Protea.Search;
using static TorchSharp.torch;

namespace Protea.Bench;

/// <summary>
/// Exact search (<see cref="ExactSearch.TopK"/>, top 10) on seeded random unit vectors: all queries
/// in batches (the default query batch), then queries/s at 1 and at 1,000 queries per call, and the
/// time of one query at several index sizes (to say where one query passes 50 ms).
/// </summary>
public static class SearchBenchmark
{
    public sealed record SizePoint(int Items, int Dim, double OneQueryMs);

    public sealed record Result(int Items, int Dim, int Queries, int Threads, int VectorBits, double AllQueriesSeconds, double QueriesPerSecondAt1,
        double QueriesPerSecondAt1000, IReadOnlyList<SizePoint> Sizes);

    public static Result Measure(int items, int dim, int queries, int threads, bool sweep = true, int bits = 512)
    {
        ExactSearch.MaxVectorBits = bits;
        set_num_threads(threads);
        var generator = new TorchSharp.torch.Generator(7);
        using var index = ExactSearch.Normalize(randn(items, dim, generator: generator));
        using var q = ExactSearch.Normalize(randn(queries, dim, generator: generator));
        ExactSearch.TopK(index, q.narrow(0, 0, Math.Min(500, queries)), 10);
        var all = Best(3, () => ExactSearch.TopK(index, q, 10));
        var thousand = Best(3, () => ExactSearch.TopK(index, q.narrow(0, 0, Math.Min(1000, queries)), 10, queryBatch: 1000));
        var singles = Math.Min(200, queries);
        var one = Best(3, () =>
        {
            for (var i = 0; i < singles; i++) { using var row = q.narrow(0, i, 1); ExactSearch.TopK(index, row, 10); }
        });
        var sizes = new List<SizePoint>();
        foreach (var (n, d) in sweep ? new[] { (60_000, 128), (240_000, 128), (240_000, 512), (1_000_000, 128) } : [])
        {
            using var big = ExactSearch.Normalize(randn(n, d, generator: generator));
            using var query = ExactSearch.Normalize(randn(20, d, generator: generator));
            ExactSearch.TopK(big, query.narrow(0, 0, 1), 10);
            var t = Best(3, () => { for (var i = 0; i < 20; i++) { using var row = query.narrow(0, i, 1); ExactSearch.TopK(big, row, 10); } });
            sizes.Add(new SizePoint(n, d, 1000 * t / 20));
        }
        return new Result(items, dim, queries, threads, ExactSearch.VectorBits, all, singles / one, Math.Min(1000, queries) / thousand, sizes);
    }

    private static double Best(int repeats, Action action)
    {
        var best = double.MaxValue;
        for (var i = 0; i < repeats; i++)
        {
            var watch = Stopwatch.StartNew();
            action();
            best = Math.Min(best, watch.Elapsed.TotalSeconds);
        }
        return best;
    }
}

using System.Diagnostics;
using static TorchSharp.torch;

namespace Protea.Bench;

/// <summary>fp32 matrix-multiply throughput through libtorch: the ceiling any conv network on this CPU can approach.</summary>
public static class GemmCeiling
{
    public sealed record Result(int Threads, int Size, double Gflops);

    public static Result Measure(int threads, int size = 1024, int repeats = 20)
    {
        set_num_threads(threads);
        using var a = randn(size, size);
        using var b = randn(size, size);
        using var c = empty(size, size);
        for (var i = 0; i < 3; i++) mm_out(c, a, b);
        var best = double.MaxValue;
        for (var i = 0; i < repeats; i++)
        {
            var watch = Stopwatch.StartNew();
            mm_out(c, a, b);
            best = Math.Min(best, watch.Elapsed.TotalSeconds);
        }
        return new Result(threads, size, 2.0 * size * size * size / best / 1e9);
    }

    private static void mm_out(Tensor c, Tensor a, Tensor b) => c.copy_(a.mm(b));
}

using System.Diagnostics;
using Protea.Data;
using Protea.Deploy;

namespace Protea.Bench;

/// <summary>Inference on the 10,000 Fashion-MNIST test images: batch-1000 throughput and batch-1 latency.</summary>
public static class InferenceBenchmark
{
    public sealed record Result(string Engine, int Threads, double Batch1000ImagesPerSecond, double Batch1ImagesPerSecond,
        double Batch1P50Ms, double Batch1P99Ms, double Accuracy);

    public static Result Measure(string modelDir, string engineName, int threads, int singles = 2000)
    {
        TorchSharp.torch.set_num_threads(threads);
        using var splits = DataSpec.Parse(DataSpec.FashionMnistName).Load();
        var test = splits.Test!;
        using var engine = InferenceEngines.Open(modelDir, InferenceEngines.ParseChoice(engineName), threads);

        InferenceEngines.RunAll(engine, test.Take(2000), 1000);
        var best = double.MaxValue;
        InferenceOutput? output = null;
        for (var i = 0; i < 3; i++)
        {
            var watch = Stopwatch.StartNew();
            output = InferenceEngines.RunAll(engine, test, 1000);
            best = Math.Min(best, watch.Elapsed.TotalSeconds);
        }
        var predicted = output!.Predictions();
        var accuracy = predicted.Where((p, i) => p == test.Labels[i]).Count() / (double)test.Count;

        var latencies = new double[singles];
        for (var i = 0; i < 100; i++) { using var warm = test.Inputs.narrow(0, i, 1); engine.Run(warm); }
        var total = Stopwatch.StartNew();
        for (var i = 0; i < singles; i++)
        {
            var watch = Stopwatch.StartNew();
            using var one = test.Inputs.narrow(0, i % test.Count, 1);
            engine.Run(one);
            latencies[i] = watch.Elapsed.TotalMilliseconds;
        }
        var totalSeconds = total.Elapsed.TotalSeconds;
        Array.Sort(latencies);
        return new Result(engine.Name, threads, test.Count / best, singles / totalSeconds,
            latencies[singles / 2], latencies[(int)(singles * 0.99)], accuracy);
    }
}

using System.Diagnostics;
using Protea.Data;
using Protea.Training.Sampling;
using static TorchSharp.torch;

namespace Protea.Bench;

/// <summary>
/// The data pipeline alone over an image folder: the first pass (decode into the decoded cache, or a hit),
/// then <c>--passes</c> shuffled epochs of batches through <see cref="BatchSource"/> (streamed when the folder
/// is over <c>--budget</c>, else in memory), as a training epoch reads them, without a model. SCALE_SYNC=1 reads
/// each batch with <see cref="Dataset.Gather(Tensor)"/> instead (no read-ahead), to tell reading from prefetching.
/// </summary>
public static class ScaleRead
{
    public sealed record Result(string Data, int Items, bool Streamed, string CacheState, double LoadSeconds, double[] PassSeconds,
        double PeakWorkingSetMb);

    public static Result Measure(string data, string cacheDir, long? budget, int workers, int passes, int batchSize)
    {
        var watch = Stopwatch.StartNew();
        var reports = new List<DataLoadReport>();
        using var splits = ImageFolderReader.Load(data, options: new DataLoadOptions
        {
            CacheDirectory = cacheDir, MemoryBudget = budget, Workers = workers, Report = reports.Add,
        });
        var load = watch.Elapsed.TotalSeconds;
        var train = splits.Train;
        var times = new double[passes];
        long checksum = 0;
        var sync = Environment.GetEnvironmentVariable("SCALE_SYNC") == "1";
        var toFloat = Environment.GetEnvironmentVariable("SCALE_TOUCH") == "float";
        for (int pass = 0; pass < passes; pass++)
        {
            watch.Restart();
            using var generator = new Generator((ulong)(pass + 1));
            var plan = new RandomBatchSampler().Epoch(train.Labels, batchSize, generator);
            using (var source = new BatchSource(train, plan))
                for (int b = 0; b < plan.Count; b++)
                {
                    using var scope = NewDisposeScope();
                    var batch = sync ? train.Gather(plan[b]) : source.Batch(b);
                    // The batch's pixels are in memory once it is returned (copied by index_select or read from the cache);
                    // SCALE_TOUCH=float also converts them as training does (cost of the conversion, not of reading).
                    checksum += toFloat ? (batch.to(float32).sum().item<float>() > 0 ? 1 : 0) : batch[^1, 0, 0, 0].item<byte>();
                }
            foreach (var p in plan) p.Dispose();
            times[pass] = watch.Elapsed.TotalSeconds;
        }
        GC.KeepAlive(checksum);
        using var self = Process.GetCurrentProcess();
        return new Result(data, train.Count, train.IsStreamed, reports[0].CacheState, load, times, self.PeakWorkingSet64 / 1048576.0);
    }
}

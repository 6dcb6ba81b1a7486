using Protea.Data;
using Protea.Models;
using Protea.Prototypes;
using Protea.Tests.Support;
using Protea.Training.Stages;
using SkiaSharp;
using static TorchSharp.torch;

namespace Protea.Tests.Data;

/// <summary>
/// The consumers that once read <see cref="Dataset.Inputs"/> whole (prototype push, BatchNorm recalibration,
/// relabelled copies for discovery and incremental learning) read a streamed data set a batch at a time and
/// get what they get from the same data held in memory: the oracle is the in-memory path.
/// </summary>
public sealed class StreamedConsumersTests
{
    private static string MakeFolder(string root)
    {
        var random = new Random(9);
        foreach (var (name, c) in new[] { ("a", 0), ("b", 1) })
            for (int i = 0; i < 7; i++)
                TestImages.Write(Path.Combine(root, name, $"{i:D2}.png"), 28, 28,
                    (x, y) => { var v = (byte)(c * 90 + random.Next(120) + (x > 14 ? 30 : 0)); return new SKColor(v, v, v); });
        return root;
    }

    private static DataSplits Load(string root, string cache, long budget) =>
        ImageFolderReader.Load(root, options: new DataLoadOptions { CacheDirectory = cache, MemoryBudget = budget, Workers = 2 });

    private static float[] Values(Tensor t) => t.detach().contiguous().data<float>().ToArray();

    [Fact]
    public void MinDistancesAndBatchNormRecalibration_StreamedEqualInMemory()
    {
        using var dir = new TempDir();
        var root = MakeFolder(dir.File("data"));
        using var memory = Load(root, dir.File("cache"), long.MaxValue);
        using var streamed = Load(root, dir.File("cache-streamed"), 1); // cold: the reads below fill the cache
        Assert.False(memory.Train.IsStreamed);
        Assert.True(streamed.Train.IsStreamed);
        var normalization = InputNormalization.Fit(memory.Train);

        Classifier Model()
        {
            manual_seed(4);
            return new Classifier(new ReferenceCnn(3), PartsHead.PerClass(128, 2, 3, 3));
        }
        using var a = Model();
        using var b = Model();
        using (var expected = PrototypePush.MinDistances(a, memory.Train.Inputs, normalization, batchSize: 4))
        using (var got = PrototypePush.MinDistances(b, streamed.Train, normalization, batchSize: 4))
        {
            Assert.Equal(new long[] { 14, 6 }, got.shape);
            Assert.Equal(Values(expected), Values(got));
        }

        var layers = BatchNormRecalibration.Recalibrate(a, normalization, memory.Train.Inputs, 4);
        Assert.True(layers > 0);
        Assert.Equal(layers, BatchNormRecalibration.Recalibrate(b, normalization, streamed.Train, 4));
        var sa = a.state_dict();
        var sb = b.state_dict();
        foreach (var (name, t) in sa)
            if (name.Contains("running_"))
            {
                Assert.NotEqual(0, t.abs().sum().item<float>()); // recalibrated, not left at zero
                Assert.Equal(Values(t), Values(sb[name]));
            }
    }

    [Fact]
    public void Relabel_KeepsTheItems_StreamedStaysStreamed()
    {
        using var dir = new TempDir();
        var root = MakeFolder(dir.File("data"));
        using var memory = Load(root, dir.File("cache"), long.MaxValue);
        using var streamed = Load(root, dir.File("cache"), 1);
        long[] labels = [.. Enumerable.Range(0, 14).Select(i => (long)(i % 3 == 0 ? -1 : 1 - i / 7))];
        using var relabelledStream = streamed.Train.Relabel(labels, ["b", "a"]);
        using var relabelledMemory = memory.Train.Relabel(labels, ["b", "a"]);
        Assert.True(relabelledStream.IsStreamed);
        Assert.False(relabelledMemory.IsStreamed);
        foreach (var d in new[] { relabelledStream, relabelledMemory })
        {
            Assert.Equal(labels, d.Labels);
            Assert.Equal(new[] { "b", "a" }, d.ClassNames);
            Assert.Equal(memory.Train.Ids, d.Ids);
            using var all = d.Slice(0, 14);
            Assert.Equal(memory.Train.Inputs.data<byte>().ToArray(), all.contiguous().data<byte>().ToArray());
        }
        // The relabelled copy owns its own view: disposing it leaves the original readable.
        relabelledMemory.Dispose();
        Assert.Equal(14, memory.Train.Inputs.shape[0]);
        Assert.Equal((byte)memory.Train.Inputs[13, 0, 0, 0].item<byte>(), memory.Train.Inputs.data<byte>()[13 * 3 * 28 * 28]);
    }
}

using Protea.Data;
using Protea.Tests.Support;
using Protea.Training;
using Protea.Training.Sampling;
using SkiaSharp;
using static TorchSharp.torch;

namespace Protea.Tests.Data;

/// <summary>
/// Streamed data gives the trainer the very batches that data held in memory gives it: the oracle is the
/// in-memory path of the same seeded run (pixels, order, augmentation, and so the trained weights).
/// </summary>
public sealed class StreamingTrainingTests
{
    private static string MakeFolder(string root)
    {
        var random = new Random(5);
        foreach (var (name, c) in new[] { ("a", 0), ("b", 1) })
            for (int i = 0; i < 20; i++)
                TestImages.Write(Path.Combine(root, name, $"{i:D2}.png"), 12, 12,
                    (x, y) => new SKColor((byte)(c * 120 + random.Next(100)), (byte)random.Next(256), (byte)(x * 20 + y)));
        return root;
    }

    private static DataSplits Load(string root, string cache, long budget) =>
        ImageFolderReader.Load(root, options: new DataLoadOptions { CacheDirectory = cache, MemoryBudget = budget, Workers = 3 });

    [Fact]
    public void BatchSource_StreamedAndInMemory_SameBatchesInOrder()
    {
        using var dir = new TempDir();
        var root = MakeFolder(dir.File("data"));
        using var memory = Load(root, dir.File("cache"), long.MaxValue);
        using var streamed = Load(root, dir.File("cache"), 1);
        Assert.False(memory.Train.IsStreamed);
        Assert.True(streamed.Train.IsStreamed);
        using var generator = new Generator(7);
        var plan = new RandomBatchSampler().Epoch(memory.Train.Labels, 6, generator);
        using var fromMemory = new BatchSource(memory.Train, plan);
        using var fromStream = new BatchSource(streamed.Train, plan);
        for (int b = 0; b < plan.Count; b++)
        {
            using var expected = fromMemory.Batch(b);
            using var got = fromStream.Batch(b);
            Assert.Equal(expected.shape, got.shape);
            Assert.Equal(expected.data<byte>().ToArray(), got.data<byte>().ToArray());
        }
        foreach (var p in plan) p.Dispose();
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void SeededTraining_StreamedEqualsInMemory_WithAugmentation(bool streamedFirst)
    {
        // streamedFirst: the streamed run meets no cache, so its first epoch decodes the images and fills the cache.
        using var dir = new TempDir();
        var root = MakeFolder(dir.File("data"));
        var options = new TrainOptions
        {
            Architecture = "cnn", Epochs = 2, BatchSize = 8, LearningRate = 0.05, ValidationFraction = 0, Seed = 11, Threads = 1,
            Flip = true, CropPadding = 2,
        };
        float[] Train(long budget, out double[] losses)
        {
            using var splits = Load(root, dir.File(budget == 1 ? "cache-streamed" : "cache"), budget);
            Assert.Equal(budget == 1, splits.Train.IsStreamed);
            manual_seed(3);
            var result = new Trainer(options).Train(splits.Train, splits.Train);
            losses = result.Epochs.Select(e => e.TrainLoss).Concat(result.Epochs.Select(e => e.ValidationLoss ?? double.NaN)).ToArray();
            using var bundle = result.Bundle;
            return bundle.Model.parameters().SelectMany(p => p.detach().contiguous().data<float>().ToArray()).ToArray();
        }
        double[] memoryLosses = [], streamedLosses = [];
        var streamed = streamedFirst ? Train(1, out streamedLosses) : [];
        var inMemory = Train(long.MaxValue, out memoryLosses);
        if (!streamedFirst) streamed = Train(1, out streamedLosses);
        Assert.True(File.Exists(Directory.GetFiles(dir.File("cache-streamed"), "*.pxc").Single())); // filled by the first epoch
        Assert.Equal(memoryLosses, streamedLosses);
        Assert.Equal(inMemory, streamed);
    }
}

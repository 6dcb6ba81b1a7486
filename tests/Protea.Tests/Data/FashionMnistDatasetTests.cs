using Protea.Data;
using static TorchSharp.torch;

namespace Protea.Tests.Data;

public sealed class FashionMnistDatasetTests
{
    [Fact]
    public void Load_RealFiles_MatchNaiveReaderAndNumpy()
    {
        using var splits = FashionMnistDataset.Load();
        var train = splits.Train;
        var test = splits.Test!;

        Assert.Equal(new long[] { 60000, 1, 28, 28 }, train.Inputs.shape);
        Assert.Equal(new long[] { 10000, 1, 28, 28 }, test.Inputs.shape);
        Assert.Equal(InputKind.Image, test.Kind);
        Assert.Equal(10, test.ClassNames.Count);
        Assert.Equal("Ankle boot", test.ClassNames[9]);
        // The official test set is balanced: exactly 1000 images per class.
        Assert.All(test.Labels.CountBy(l => l), kv => Assert.Equal(1000, kv.Value));
        Assert.Equal(10, test.Labels.Distinct().Count());

        // Independent oracle 1: the tests' own naive reader of the first test images.
        var (expected, expectedLabels) = Support.FashionMnist.FirstTestImages(5);
        using (expected)
        using (var first = test.Inputs.narrow(0, 0, 5))
        {
            Assert.True(first.eq(expected).all().item<bool>());
            Assert.Equal(expectedLabels, test.Labels[..5]);
        }

        // Independent oracle 2: numpy over the raw gzip files.
        var numpy = Support.Python.Run("""
            import gzip, sys, numpy as np
            d = sys.argv[1]
            tr = np.frombuffer(gzip.open(d + '/train-images-idx3-ubyte.gz').read(), np.uint8, offset=16).reshape(-1, 28, 28)
            tl = np.frombuffer(gzip.open(d + '/train-labels-idx1-ubyte.gz').read(), np.uint8, offset=8)
            te = np.frombuffer(gzip.open(d + '/t10k-images-idx3-ubyte.gz').read(), np.uint8, offset=16).reshape(-1, 28, 28)
            print(int(te[0].sum()), int(tr[59999].sum()), int(tr.sum(dtype=np.int64)), ' '.join(str(int(c)) for c in np.bincount(tl)))
            """, FashionMnistDataset.DefaultDirectory).Split(' ', StringSplitOptions.RemoveEmptyEntries).Select(long.Parse).ToArray();
        Assert.Equal(numpy[0], test.Inputs[0].sum().item<long>());
        Assert.Equal(numpy[1], train.Inputs[59999].sum().item<long>());
        Assert.Equal(numpy[2], train.Inputs.sum(type: ScalarType.Int64).item<long>());
        Assert.Equal(numpy[3..], Enumerable.Range(0, 10).Select(c => (long)train.Labels.Count(l => l == c)).ToArray());

        // Ids name the split and the index in the official file.
        Assert.Equal(["train/0", "train/1"], train.Ids.Take(2));
        Assert.Equal("train/59999", train.Ids[^1]);
        Assert.Equal("test/9999", test.Ids[^1]);
    }

    [Fact]
    public void Load_WithSizeAndChannels_ResizesAndReplicatesGray()
    {
        using var splits = FashionMnistDataset.Load(imageSize: 14, channels: 3);
        var test = splits.Test!;
        Assert.Equal(new long[] { 10000, 3, 14, 14 }, test.Inputs.shape);

        // Oracle: torch (Debian) bilinear antialiased downscale of the same image, rounded to uint8.
        var (original, _) = Support.FashionMnist.FirstTestImages(1);
        using (original)
        {
            var reference = Support.Python.Run("""
                import sys, torch
                x = torch.tensor([int(v) for v in sys.argv[1].split(',')], dtype=torch.float32).reshape(1, 1, 28, 28)
                y = torch.nn.functional.interpolate(x, size=(14, 14), mode='bilinear', align_corners=False, antialias=True)
                print(','.join(str(int(v)) for v in y.round().clamp(0, 255).flatten().tolist()))
                """, string.Join(',', original.data<byte>().ToArray())).Trim().Split(',').Select(byte.Parse).ToArray();
            for (int c = 0; c < 3; c++)
            {
                var mine = test.Inputs[0, c].data<byte>().ToArray();
                Assert.All(mine.Zip(reference), p => Assert.InRange(p.First - p.Second, -1, 1));
            }
        }
    }

    [Fact]
    public void Load_MissingDirectory_SaysWhatToInstall()
    {
        var e = Assert.Throws<ProteaException>(() => FashionMnistDataset.Load("/nonexistent/fashion"));
        Assert.Contains("/nonexistent/fashion/train-images-idx3-ubyte.gz not found", e.Message);
        Assert.Contains("dataset-fashion-mnist", e.Message);
    }
}

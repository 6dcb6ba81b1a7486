using TorchSharp;
using Protea.Data;
using Protea.Mil;
using Protea.Tests.Support;
using static TorchSharp.torch;

namespace Protea.Tests.Mil;

/// <summary>Generated bags' ground truth against their pixels: each class's tiles have their own constant intensity.</summary>
public sealed class BagMosaicTests
{
    private static readonly string[] Classes = ["a", "b", "c", "d"];

    private static byte Intensity(int label) => (byte)(40 + 50 * label);

    /// <summary>8 tiles of 28x28 per class, each filled with its class's intensity.</summary>
    private static Dataset Tiles()
    {
        var labels = Enumerable.Range(0, 32).Select(i => (long)(i % 4)).ToArray();
        var images = zeros([32, 1, 28, 28], ScalarType.Byte);
        for (var i = 0; i < 32; i++)
            using (var v = ((int)Intensity((int)labels[i])).ToScalar()) images[i].fill_(v);
        return new Dataset(images, labels, Classes, InputKind.Image, "synthetic");
    }

    [Fact]
    public void Tiles_csv_matches_the_pixels_and_the_folders()
    {
        using var tiles = Tiles();
        using var dir = new TempDir();
        var summary = BagMosaicGenerator.Write(tiles, new BagMosaicOptions { TargetClass = 2, Count = 12, MinTiles = 3, MaxTiles = 9, PositiveRate = 0.5, Seed = 4 }, dir.Path);
        var truth = BagMosaicGenerator.ReadTiles(summary.TilesCsv);
        var rows = File.ReadAllLines(summary.TilesCsv).Skip(1).Select(l => l.Split(',')).ToArray();
        Assert.Equal(12, truth.Count);
        Assert.Equal(12, summary.Positive + summary.Negative);
        foreach (var (bag, bagTiles) in truth)
        {
            var path = Path.Combine(dir.Path, bag);
            var header = ImageDecoder.Probe(path)!;
            Assert.Equal((84, 84), (header.Width, header.Height)); // 3x3 grid for up to 9 tiles
            using var image = ImageDecoder.Decode(path, 1, 84, 84);
            var px = image.data<byte>().ToArray();
            var covered = new bool[84 * 84];
            foreach (var row in rows.Where(r => r[0] == bag))
            {
                var (x, y, cls, target) = (int.Parse(row[3]), int.Parse(row[4]), Array.IndexOf(Classes, row[7]), row[8] == "1");
                Assert.Equal(cls == 2, target);
                for (var r = 0; r < 28; r++)
                    for (var c = 0; c < 28; c++)
                    {
                        Assert.Equal(Intensity(cls), px[(y + r) * 84 + x + c]);
                        covered[(y + r) * 84 + x + c] = true;
                    }
            }
            // Cells without a tile are black; a bag is positive exactly when it holds a target tile.
            Assert.All(Enumerable.Range(0, px.Length).Where(i => !covered[i]), i => Assert.Equal(0, px[i]));
            Assert.Equal(bag.StartsWith("positive/"), bagTiles.Any(t => t.Target));
            Assert.InRange(bagTiles.Count, 3, 9);
        }
    }

    [Fact]
    public void Same_seed_same_bags()
    {
        using var tiles = Tiles();
        using var a = new TempDir();
        using var b = new TempDir();
        var o = new BagMosaicOptions { TargetClass = 1, Count = 5, MinTiles = 2, MaxTiles = 4, Seed = 9 };
        BagMosaicGenerator.Write(tiles, o, a.Path);
        BagMosaicGenerator.Write(tiles, o, b.Path);
        Assert.Equal(File.ReadAllText(a.File("tiles.csv")), File.ReadAllText(b.File("tiles.csv")));
    }
}

using Protea.Mil;
using Protea.Tests.Support;
using SkiaSharp;

namespace Protea.Tests.Mil;

public sealed class MaskedInstanceMiningTests
{
    [Fact]
    public void The_masked_view_drops_each_bags_most_attended_instances()
    {
        // Bags of 5, 1 and 4: ratio 0.5 masks floor(2.5) = 2, none of the single bag (one is always kept), 2.
        float[] weights = [0.1f, 0.4f, 0.05f, 0.3f, 0.15f, 1f, 0.2f, 0.2f, 0.5f, 0.1f];
        var (keep, sizes) = MaskedInstanceMining.MaskedView(weights, [5, 1, 4], 0.5);
        Assert.Equal([0L, 2, 4, 5, 7, 9], keep); // ties (0.2, 0.2) mask the earlier instance first
        Assert.Equal([3, 1, 2], sizes);
    }

    [Fact]
    public void Seeded_training_with_the_extras_is_reproducible()
    {
        using var dir = new TempDir();
        var data = dir.File("bags");
        foreach (var (cls, value) in new[] { ("negative", 60), ("positive", 220) })
            for (var i = 0; i < 3; i++)
                TestImages.Write(Path.Combine(data, cls, $"{i}.png"), 56, 56,
                    (x, y) => x >= 28 && y < 28 ? new SKColor((byte)value, (byte)value, (byte)value) : new SKColor(30, 30, 30), gray: true);
        string[] Train(string name) =>
            ["train-bags", "--data", data, "--out", dir.File(name), "--patch", "28", "--epochs", "2", "--batch-size", "2",
             "--mask-ratio", "0.25", "--instance-weight", "0.5", "--threads", "1", "--seed", "3"];
        var a = CliRunner.Run(Train("a"));
        Assert.True(a.ExitCode == 0, a.Stderr);
        var b = CliRunner.Run(Train("b"));
        Assert.True(b.ExitCode == 0, b.Stderr);
        foreach (var file in new[] { "model.safetensors", "mil.safetensors" })
            Assert.Equal(File.ReadAllBytes(Path.Combine(dir.File("a"), file)), File.ReadAllBytes(Path.Combine(dir.File("b"), file)));
        var bad = CliRunner.Run("train-bags", "--data", data, "--out", dir.File("c"), "--patch", "28", "--mask-ratio", "1");
        Assert.Equal(2, bad.ExitCode);
        Assert.Contains("--mask-ratio", bad.Stderr);
    }
}

using Protea.Tests.Support;
using SkiaSharp;

namespace Protea.Tests.Cli;

/// <summary>The data-loading flags end to end: a corrupt image stops with its name (exit 2, one line) or is skipped and counted.</summary>
public sealed class StreamingCliTests
{
    [Fact]
    public void Train_CorruptImageMidFolder_NamesItOrSkipsAndCountsIt()
    {
        using var dir = new TempDir();
        var root = dir.File("data");
        foreach (var (name, c) in new[] { ("a", 0), ("b", 1) })
            for (int i = 0; i < 6; i++)
                TestImages.Write(Path.Combine(root, name, $"{i}.png"), 8, 8, (x, y) => new SKColor((byte)(c * 200), (byte)(x * 30), (byte)(y * 30 + i)));
        var bad = Path.Combine(root, "a", "3.png");
        File.WriteAllBytes(bad, File.ReadAllBytes(bad)[..^30]); // cut short: the header reads, the pixels do not
        string[] args = ["train", "--data", root, "--arch", "cnn", "--epochs", "1", "--batch-size", "4", "--validation", "0",
            "--memory-budget", "100", "--cache-dir", dir.File("cache"), "--threads", "1", "--workers", "2"];

        var stopped = CliRunner.Run([.. args, "--out", dir.File("run1")]);
        Assert.Equal(2, stopped.ExitCode);
        var line = Assert.Single(stopped.Stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries), l => l.Contains("3.png"));
        Assert.Contains(bad, line);
        Assert.DoesNotContain("   at ", stopped.Stderr);

        var skipped = CliRunner.Run([.. args, "--out", dir.File("run2"), "--skip-bad"]);
        Assert.True(skipped.ExitCode == 0, skipped.Stderr);
        Assert.Contains("11 images", skipped.Stderr);
        Assert.Contains("streamed from the decoded cache", skipped.Stderr);
        Assert.Contains("skipped 1 undecodable image: a/3.png", skipped.Stderr);

        // predict over a folder: its images, sorted, one prediction each.
        var predicted = CliRunner.Run("predict", "--model", dir.File("run2"), Path.Combine(root, "b"), "--json");
        Assert.True(predicted.ExitCode == 0, predicted.Stderr);
        using var json = System.Text.Json.JsonDocument.Parse(predicted.Stdout);
        var inputs = json.RootElement.GetProperty("predictions").EnumerateArray().Select(e => e.GetProperty("input").GetString()).ToArray();
        Assert.Equal(Enumerable.Range(0, 6).Select(i => Path.Combine(root, "b", $"{i}.png")), inputs);
    }
}

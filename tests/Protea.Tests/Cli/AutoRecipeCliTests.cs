using Protea.Models;
using Protea.Tests.Support;

namespace Protea.Tests.Cli;

public sealed class AutoRecipeCliTests
{
    [Fact]
    public void TrainWithoutRecipe_OnACsv_ChoosesAuto_PrintsIt_SavesIt_AndLearns()
    {
        using var dir = new TempDir();
        // Two Gaussian blobs, 2 units apart in each of two features: linearly separable up to a little overlap.
        var random = new Random(5);
        double Normal() => Math.Sqrt(-2 * Math.Log(1 - random.NextDouble())) * Math.Cos(2 * Math.PI * random.NextDouble());
        var rows = Enumerable.Range(0, 200).Select(i => (c: i % 2, x: Normal() + 2 * (i % 2), y: Normal() - 2 * (i % 2)))
            .Select(r => FormattableString.Invariant($"{r.x:F4},{r.y:F4},{(r.c == 0 ? "a" : "b")}"));
        var csv = dir.File("blobs.csv");
        File.WriteAllLines(csv, ["x,y,label", .. rows]);
        var model = dir.File("run");
        var r = CliRunner.Run("train", "--data", csv, "--arch", "mlp", "--out", model, "--threads", "1");
        Assert.True(r.ExitCode == 0, r.Stderr);
        // 180 training rows (10 % validation): 180/8 = 22 -> batch 16; 11 full batches + 4 (merged) = 11 steps;
        // 2 classes -> 500 steps -> ceil(500/11) = 46 epochs; lr 0.1 * 16/128 = 0.0125; warm-up 50 %.
        Assert.Contains("recipe auto for 180 training examples: 46 epochs, batch 16 (506 steps), peak lr 0.0125, warm-up 50", r.Stderr);
        var description = ModelBundle.ReadDescription(model);
        var recipe = description.Recipe!;
        Assert.Equal(46, recipe["epochs"]!.GetValue<int>());
        Assert.Equal(16, recipe["batch_size"]!.GetValue<int>());
        Assert.Equal(0.0125, recipe["learning_rate"]!.GetValue<double>(), 1e-12);
        Assert.Equal(0.5, recipe["warmup"]!.GetValue<double>());
        Assert.False(recipe["flip"]!.GetValue<bool>());
        Assert.True(description.Metrics["validation_accuracy"] >= 0.9, $"accuracy {description.Metrics["validation_accuracy"]}");

        // A flag still overrides the rule's choice, and --json prints no recipe line.
        var j = CliRunner.Run("train", "--data", csv, "--arch", "mlp", "--epochs", "3", "--out", dir.File("run2"), "--threads", "1", "--json");
        Assert.True(j.ExitCode == 0, j.Stderr);
        Assert.DoesNotContain("recipe auto", j.Stderr);
        Assert.Equal(3, ModelBundle.ReadDescription(dir.File("run2")).Recipe!["epochs"]!.GetValue<int>());

        // --lr auto: the range test picks the peak rate before training; the run still learns and saves that rate.
        var a = CliRunner.Run("train", "--data", csv, "--arch", "mlp", "--lr", "auto", "--out", dir.File("run3"), "--threads", "1");
        Assert.True(a.ExitCode == 0, a.Stderr);
        Assert.Contains("learning rate auto: ", a.Stderr);
        var auto = ModelBundle.ReadDescription(dir.File("run3"));
        Assert.InRange(auto.Recipe!["learning_rate"]!.GetValue<double>(), 1e-4, 1);
        Assert.NotEqual(0.0125, auto.Recipe!["learning_rate"]!.GetValue<double>());
        Assert.True(auto.Metrics["validation_accuracy"] >= 0.9, $"accuracy {auto.Metrics["validation_accuracy"]}");

        var bad = CliRunner.Run("train", "--data", csv, "--lr", "fast", "--out", dir.File("run4"), "--json");
        Assert.Equal(2, bad.ExitCode);
        Assert.Equal("protea: --lr: learning rate 'fast' is neither a number nor auto", bad.Stderr.TrimEnd());
    }
}

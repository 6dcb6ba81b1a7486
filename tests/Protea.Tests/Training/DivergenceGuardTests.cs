using Protea.Data;
using Protea.Runs;
using Protea.Training;
using Protea.Tests.Support;
using static TorchSharp.torch;

namespace Protea.Tests.Training;

public sealed class DivergenceGuardTests
{
    private static void Feed(DivergenceGuard guard, IEnumerable<double> losses, int classes = 10)
    {
        var step = 0L;
        foreach (var loss in losses) guard.Step(loss, 0, step++, classes, 0.5, 1.0);
    }

    [Fact]
    public void ARisingLoss_TripsWhenTheWindowMeanPassesThreeTimesTheStart()
    {
        // 20 steps at 2.5 (reference max(2.5, ln 10 = 2.30) = 2.5, bound 7.5), then 20 at 9: the window mean after
        // k steps at 9 is (2.5 (20 - k) + 9 k) / 20 > 7.5 when k > 15.38, i.e. at the 16th step at 9 (step index 35).
        var guard = new DivergenceGuard();
        var e = Assert.Throws<ProteaException>(() => Feed(guard, Enumerable.Repeat(2.5, 20).Concat(Enumerable.Repeat(9.0, 20))));
        Assert.Equal("learning_rate", e.Field);
        Assert.Equal(35, guard.Tripped!.Step);
        Assert.Equal((2.5 * 4 + 9 * 16) / 20, guard.Tripped.Loss, 1e-12);
        Assert.Equal(2.5, guard.Tripped.Reference, 1e-12);
        Assert.Contains("learning rate 0.5 (peak 1)", e.Message);
        Assert.Contains("try 0.1", e.Message);
    }

    [Fact]
    public void NaN_TripsAtOnce_AndATrainingLoss_DoesNot()
    {
        var guard = new DivergenceGuard();
        Assert.Throws<ProteaException>(() => Feed(guard, [2.3, 2.2, double.NaN]));
        Assert.Equal(2, guard.Tripped!.Step);

        // A loss that falls, with a bump of 80 % in the middle; a good starting model (loss 0.1, bound 3 ln 3 = 3.296).
        guard.Reset();
        Feed(guard, Enumerable.Range(0, 200).Select(i => 2.3 * Math.Exp(-i / 50.0) * (i is > 80 and < 120 ? 1.8 : 1)));
        guard.Reset();
        Feed(guard, Enumerable.Repeat(0.1, 30).Concat(Enumerable.Repeat(2.0, 30)), classes: 3);
        guard.EpochEnd(3.29, 0, 59, 3, 0.5, 1);
        Assert.Null(guard.Tripped);
        Assert.Throws<ProteaException>(() => guard.EpochEnd(3.3, 0, 59, 3, 0.5, 1));
    }

    /// <summary>Logistic-regression data: 8 standard-normal features, the class is the sign of w.x.</summary>
    private static Dataset Logistic(int n, int seed)
    {
        var random = new Random(seed);
        double Normal() => Math.Sqrt(-2 * Math.Log(1 - random.NextDouble())) * Math.Cos(2 * Math.PI * random.NextDouble());
        var w = Enumerable.Range(0, 8).Select(_ => Normal()).ToArray();
        var x = new float[n * 8];
        var y = new long[n];
        for (var i = 0; i < n; i++)
        {
            var dot = 0.0;
            for (var j = 0; j < 8; j++) { x[i * 8 + j] = (float)Normal(); dot += w[j] * x[i * 8 + j]; }
            y[i] = dot > 0 ? 1 : 0;
        }
        return new Dataset(tensor(x).reshape(n, 8), y, ["neg", "pos"], InputKind.Tabular, "logistic");
    }

    [Fact]
    public void AForcedBlowUp_StopsTheRun_WithTheLearningRateInTheMessage()
    {
        // SGD at a constant lr of 1e4 on a tiny problem: the linear head's logits explode within a few steps.
        using var data = Logistic(512, 5);
        var options = new TrainOptions { Architecture = "mlp", Epochs = 5, BatchSize = 32, LearningRate = 1e4, Schedule = "constant", Seed = 1, Threads = 2 };
        manual_seed(1);
        var trainer = new Trainer(options);
        var e = Assert.Throws<ProteaException>(() => trainer.Train(data, null));
        Assert.NotNull(trainer.Divergence.Tripped);
        Assert.Equal(0, trainer.Divergence.Tripped!.Epoch);
        Assert.Contains("training diverged in epoch 1", e.Message);
        Assert.Contains("learning rate 1E+04", e.Message);
        // The same run at a sane rate trains through.
        manual_seed(1);
        using var fine = new Trainer(options with { LearningRate = 0.05 }).Train(data, null).Bundle;
    }

    [Fact]
    public void WithRestart_ADivergedRunStartsOnceMoreAtATenthOfTheRate_AndSaysSo()
    {
        using var dir = new TempDir();
        var spec = DataSpec.Parse(TestData.IrisCsv);
        var options = new TrainOptions { Architecture = "mlp", Epochs = 3, BatchSize = 16, LearningRate = 100, Schedule = "constant", Seed = 2, Threads = 2 };
        // Without restart: the divergence is the run's error.
        Assert.Equal("learning_rate", Assert.Throws<ProteaException>(() => TrainingRun.Execute(spec, options, dir.File("plain"))).Field);
        var notices = new List<string>();
        // 100 diverges, and so does 10: the restart is tried once, and its own divergence is the error.
        Assert.Throws<ProteaException>(() => TrainingRun.Execute(spec, options with { LearningRate = 100 }, dir.File("twice"), restartOnDivergence: true, notice: notices.Add));
        Assert.Single(notices);
        notices.Clear();
        // 3 diverges on iris (an epoch's mean loss of about 128, against ln 3), 0.3 trains.
        var result = TrainingRun.Execute(spec, options with { LearningRate = 3 }, dir.File("once"), restartOnDivergence: true, notice: notices.Add);
        Assert.Contains("restarting from scratch, same seed, at peak learning rate 0.3", Assert.Single(notices));
        Assert.NotNull(result.Restarted);
        var json = System.Text.Json.Nodes.JsonNode.Parse(File.ReadAllText(Path.Combine(dir.File("once"), "model.json")))!;
        Assert.Equal(0.3, json["recipe"]!["learning_rate"]!.GetValue<double>(), 1e-12);
        Assert.True(result.Metrics.Accuracy >= 0.8, $"accuracy {result.Metrics.Accuracy} after the restart");
    }
}

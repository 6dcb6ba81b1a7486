using Protea.Data;
using Protea.Training;
using static TorchSharp.torch;

namespace Protea.Tests.Training;

public sealed class LearningRateFinderTests
{
    /// <summary>Logistic-regression data: 8 standard-normal features, the class is the sign of w.x plus a little noise.</summary>
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
            y[i] = dot + 0.3 * Normal() > 0 ? 1 : 0;
        }
        return new Dataset(tensor(x).reshape(n, 8), y, ["neg", "pos"], InputKind.Tabular, "logistic");
    }

    private static readonly TrainOptions Mlp = new() { Architecture = "mlp", BatchSize = 64, Seed = 3, Threads = 2 };

    [Fact]
    public void Sweep_OnLogisticData_SuggestsAWorkingRate()
    {
        using var data = Logistic(2000, 11);
        manual_seed(3);
        var result = new LearningRateFinder(Mlp).Find(data);
        // Hand-checked range for SGD with Nesterov momentum 0.9 on this BatchNorm mlp with standardised
        // inputs: below 1e-3 a hundred steps barely move the loss, and above 1 batches stop agreeing (BatchNorm
        // keeps SGD from blowing up here, so the sweep runs its 100 steps).
        Assert.Equal("steepest", result.Method);
        Assert.InRange(result.Suggestion, 1e-3, 1);
        Assert.Equal(100, result.Curve.Count);
        // The lr grows exponentially: equal ratios between neighbours, from 1e-6.
        Assert.Equal(1e-6, result.Curve[0].LearningRate, 1e-15);
        Assert.Equal(Math.Pow(1e7, 1 / 99.0), result.Curve[2].LearningRate / result.Curve[1].LearningRate, 1e-9);

        // The independent check: a short run at the suggestion learns the data, one at a hundredth of it barely does.
        double Accuracy(double lr)
        {
            manual_seed(3);
            var trained = new Trainer(Mlp with { LearningRate = lr, Epochs = 3 }).Train(data, null);
            using var bundle = trained.Bundle;
            return trained.Epochs[^1].TrainAccuracy;
        }
        var good = Accuracy(result.Suggestion);
        var slow = Accuracy(result.Suggestion / 1000);
        Assert.True(good >= 0.9, $"accuracy {good} at the suggested lr {result.Suggestion}");
        Assert.True(good > slow + 0.05, $"accuracy {good} at the suggestion, {slow} at a thousandth of it");
    }

    [Fact]
    public void Sweep_StopsWhenTheSmoothedLossPassesFourTimesTheBest()
    {
        // A forced blow-up: the sweep goes on to lr 1e4, where SGD's steps on the linear head make the logits explode.
        using var data = Logistic(2000, 11);
        manual_seed(3);
        var result = new LearningRateFinder(Mlp) { MaxLearningRate = 1e4 }.Find(data);
        Assert.Equal("diverged", result.Stopped);
        Assert.True(result.Curve.Count < 100, $"{result.Curve.Count} steps");
        Assert.True(result.Curve[^1].LearningRate < 1e4);
        var best = result.Curve.SkipLast(1).Min(p => p.SmoothedLoss);
        Assert.True(result.Curve[^1].SmoothedLoss > 4 * best);
        Assert.InRange(result.Suggestion, 1e-5, 0.1);
    }

    [Fact]
    public void Suggest_FindsTheSteepestFall_OrFallsBackToTheMinimumOverTen()
    {
        // Smoothed loss = 1 - tanh(log10(lr) + 2) + 0.5 max(0, log10(lr))^2: steepest at lr = 1e-2, minimum near lr = 2.
        var curve = Enumerable.Range(0, 100).Select(i => Math.Pow(10, -6 + 7 * i / 99.0))
            .Select(lr => new LearningRateFinder.Point(lr, 0, 1 - Math.Tanh(Math.Log10(lr) + 2) + 0.5 * Math.Pow(Math.Max(0, Math.Log10(lr)), 2)))
            .ToList();
        var (suggestion, method, _) = LearningRateFinder.Suggest(curve);
        Assert.Equal("steepest", method);
        Assert.InRange(Math.Log10(suggestion), -2 - 0.08, -2 + 0.08); // within one grid step (7/99 decades)

        // A loss that only rises: no falling stretch, so the minimum (the first point) over 10.
        var rising = curve.Select(p => p with { SmoothedLoss = p.LearningRate }).ToList();
        (suggestion, method, var atMinimum) = LearningRateFinder.Suggest(rising);
        Assert.Equal(("minimum/10", 1e-6, 1e-7), (method, atMinimum, suggestion));
    }
}

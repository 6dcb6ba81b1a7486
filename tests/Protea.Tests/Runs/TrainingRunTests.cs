using Protea.Data;
using Protea.Models;
using Protea.Runs;
using Protea.Tests.Support;
using Protea.Training;
using static TorchSharp.torch;

namespace Protea.Tests.Runs;

public sealed class TrainingRunTests
{
    /// <summary>
    /// The run is the host that seeds torch's global generator (a fresh network's layers draw from it),
    /// so the same seed gives the same weights whatever the generator held before.
    /// </summary>
    [Fact]
    public void SameSeed_GivesBitIdenticalWeights_WhateverTheGlobalGeneratorHeld()
    {
        using var dir = new TempDir();
        var csv = dir.File("points.csv");
        var random = new Random(2);
        File.WriteAllLines(csv, new[] { "a,b,c,label" }.Concat(Enumerable.Range(0, 48).Select(i =>
        {
            var label = i % 3;
            return $"{label + random.NextDouble():F4},{random.NextDouble():F4},{label * random.NextDouble():F4},k{label}";
        })));
        var spec = DataSpec.Parse(csv, new DataSpecOptions { LabelColumn = "label" });
        var options = new TrainOptions
        {
            Architecture = "mlp", Epochs = 3, BatchSize = 8, LearningRate = 0.05, ValidationFraction = 0.25, Seed = 5, Threads = 2,
        };
        byte[] Weights(TrainOptions o, string name, long disturb)
        {
            manual_seed(disturb);
            using (randn(7)) { }
            var result = TrainingRun.Execute(spec, o, dir.File(name));
            return File.ReadAllBytes(ModelBundle.WeightsPath(result.OutDir));
        }
        var a = Weights(options, "a", 1);
        var b = Weights(options, "b", 2);
        var c = Weights(options with { Seed = 6 }, "c", 1);
        Assert.Equal(a, b);
        Assert.NotEqual(a, c);
    }
}

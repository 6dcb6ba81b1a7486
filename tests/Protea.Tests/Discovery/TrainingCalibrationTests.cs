using Protea.Data;
using Protea.Deploy;
using Protea.Discovery;
using Protea.Models;
using Protea.Runs;
using Protea.Tests.Support;
using Protea.Training;

namespace Protea.Tests.Discovery;

public sealed class TrainingCalibrationTests
{
    [Fact]
    public void Training_with_a_validation_split_calibrates_the_energy_scorer_on_it()
    {
        using var dir = new TempDir();
        var csv = dir.File("points.csv");
        var random = new Random(2);
        File.WriteAllLines(csv, new[] { "a,b,c,label" }.Concat(Enumerable.Range(0, 60).Select(i =>
        {
            var label = i % 3;
            return $"{label + random.NextDouble():F4},{random.NextDouble():F4},{label * random.NextDouble():F4},k{label}";
        })));
        var spec = DataSpec.Parse(csv, new DataSpecOptions { LabelColumn = "label" });
        var options = new TrainOptions { Architecture = "mlp", Epochs = 2, BatchSize = 8, ValidationFraction = 0.25, Seed = 5, Threads = 2 };
        var run = TrainingRun.Execute(spec, options, dir.File("run"));
        var unknown = ModelBundle.ReadDescription(run.OutDir).Unknown;
        Assert.NotNull(unknown);
        Assert.Equal("energy", unknown.Scorer);
        Assert.Equal(1.0, unknown.Temperature);

        // The threshold is the 15th smallest of the 15 validation items' energies (⌈0.95·15⌉ = 15), as the saved model gives them.
        using var splits = spec.Load();
        var (train, validation) = TrainValidationSplit.Split(splits.Train, 0.25, 5);
        using (train)
        using (validation)
        using (var engine = InferenceEngines.Open(run.OutDir, EngineChoice.Torch))
        {
            Assert.Equal(15, validation.Count);
            var scores = new EnergyScorer().Score(InferenceEngines.RunAll(engine, validation));
            Assert.Equal(scores.Max(), unknown.Threshold, 1e-5);
        }
    }
}

using Protea.Models;
using Protea.Tests.Support;
using Protea.Training;
using Protea.Training.Objectives;
using static TorchSharp.torch;

namespace Protea.Tests.Training;

/// <summary>Triplet and center objectives end to end: training runs on P x K batches, the centres are dropped, runs repeat.</summary>
public sealed class MetricTrainingTests
{
    private static readonly TrainOptions Small = new()
    {
        Epochs = 1, BatchSize = 20, LearningRate = 0.05, Schedule = "onecycle", ValidationFraction = 0, Seed = 3, Threads = 2,
    };

    [Fact]
    public void TripletPlusCenterPlusCe_Trains_DropsTheCentres_AndIsReproducible()
    {
        using var dir = new TempDir();
        using var data = FashionMnist.Dataset(80);
        var options = Small with { Objective = "triplet+center:0.01+ce" };
        float[] Run(string name)
        {
            manual_seed(1);
            var result = new Trainer(options).Train(data, null);
            Assert.True(double.IsFinite(result.Epochs[0].TrainLoss) && result.Epochs[0].TrainLoss > 0);
            using var bundle = result.Bundle;
            bundle.Save(dir.File(name));
            return bundle.Model.named_parameters().First(p => p.name.StartsWith("head.", StringComparison.Ordinal)).parameter.data<float>().ToArray();
        }
        Assert.Equal(Run("a"), Run("b"));
        var tensors = SafeTensors.Read(Path.Combine(dir.File("a"), "model.safetensors"));
        try { Assert.DoesNotContain(tensors.Keys, n => n.Contains("center") || n.Contains("triplet")); }
        finally { foreach (var t in tensors.Values) t.Dispose(); }
    }

    [Fact]
    public void Triplet_RefusesMixedBatches_AndAPkRequestBeyondTheClasses()
    {
        using var data = FashionMnist.Dataset(40);
        var mixed = Assert.Throws<ProteaException>(() => new Trainer(Small with { Objective = "triplet+ce", MixupAlpha = 0.2 }).Train(data, null));
        Assert.Equal("objective", mixed.Field);
        var tooMany = Assert.Throws<ProteaException>(() => new Trainer(Small with { Objective = "triplet+ce", ClassesPerBatch = 50 }).Train(data, null));
        Assert.Equal("classes_per_batch", tooMany.Field);
    }
}

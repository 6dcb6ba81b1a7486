using Protea.Data;
using Protea.Evaluation;
using Protea.Models;
using Protea.Runs;
using Protea.Training;
using Protea.Tests.Support;
using static TorchSharp.torch;

namespace Protea.Tests.Training;

public sealed class TrainerTests
{
    private static readonly TrainOptions Small = new()
    {
        Epochs = 1, BatchSize = 32, LearningRate = 0.05, Schedule = "onecycle", ValidationFraction = 0, Seed = 3, Threads = 2,
    };

    /// <summary>
    /// The trainer sets no process-wide state: as a host (TrainingRun) does, the test seeds torch's
    /// global generator, from which a fresh network's layers draw their initial weights.
    /// </summary>
    private static Trainer Seeded(TrainOptions options, IProgress<TrainingProgress>? progress = null)
    {
        manual_seed(options.Seed);
        return new Trainer(options, progress);
    }

    /// <summary>Reports synchronously (unlike Progress&lt;T&gt;), so a test can cancel at an exact epoch.</summary>
    private sealed class SyncProgress(Action<TrainingProgress> onReport) : IProgress<TrainingProgress>
    {
        public void Report(TrainingProgress value) => onReport(value);
    }

    [Fact]
    public void SameSeed_GivesBitIdenticalWeightsAfter20Steps()
    {
        using var data = FashionMnist.Dataset(20 * 32);
        var options = Small with { CropPadding = 2, MixupAlpha = 0.2, CutMixAlpha = 1.0 };
        using var a = Seeded(options).Train(data, null).Bundle;
        using var b = Seeded(options).Train(data, null).Bundle;
        using var c = Seeded(options with { Seed = 4 }).Train(data, null).Bundle;
        AssertSameWeights(a.Model, b.Model);
        Assert.False(TensorAssert.Identical(a.Model.state_dict()["head.weight"], c.Model.state_dict()["head.weight"]));
    }

    [Fact]
    public void Resume_AfterAnInterruptedEpoch_ContinuesToTheSameResult()
    {
        using var data = FashionMnist.Dataset(12 * 32);
        var options = Small with { Epochs = 3, Flip = true, CropPadding = 1 };
        using var whole = Seeded(options).Train(data, null).Bundle;

        using var run = new TempDir();
        using var cancel = new CancellationTokenSource();
        var stopAfterFirst = new SyncProgress(p => { if (p.Completed is { Epoch: 1 }) cancel.Cancel(); });
        Assert.ThrowsAny<OperationCanceledException>(() => Seeded(options, stopAfterFirst).Train(data, null, run.Path, cancellation: cancel.Token));
        // Not seeded: a resumed run takes its weights from the checkpoint, whatever the global generator holds.
        var resumed = new Trainer(options).Train(data, null, run.Path, resume: true);
        using var resumedBundle = resumed.Bundle;

        Assert.Equal(3, resumed.Epochs.Count);
        AssertSameWeights(whole.Model, resumedBundle.Model);
    }

    [Fact]
    public void Resume_WithDifferentOptions_IsRefused()
    {
        using var data = FashionMnist.Dataset(4 * 32);
        using var run = new TempDir();
        using (Seeded(Small).Train(data, null, run.Path).Bundle) { }
        var e = Assert.Throws<ProteaException>(() => Seeded(Small with { LearningRate = 0.2 }).Train(data, null, run.Path, resume: true));
        Assert.Contains("different training options", e.Message);
    }

    [Fact]
    public void TinyRun_On2000Images_ExceedsSeventyFivePercent()
    {
        using var train = FashionMnist.Dataset(2000);
        using var test = FashionMnist.Dataset(1000, train: false);
        manual_seed(0);
        var trainer = new Trainer(new TrainOptions { Epochs = 3, BatchSize = 64, LearningRate = 0.1, ValidationFraction = 0, Seed = 0 })
        {
            Validation = new OnnxValidationScorer(threads: 2),
        };
        var result = trainer.Train(train, test);
        using var bundle = result.Bundle;
        var logits = ClassifierInference.Logits(bundle.Model, bundle.Description.Normalization, test.Inputs);
        var accuracy = ClassificationMetrics.Evaluate(logits, test.Labels, test.ClassNames).Accuracy;
        Assert.True(accuracy > 0.75, $"test accuracy {accuracy:P1} after 3 epochs on 2,000 images");
        Assert.Equal(3, result.Epochs.Count);
        // Validation is scored by ONNX Runtime over an in-memory export, here by TorchSharp: logits agree
        // within 1e-4, so at most a near-tie or two may flip on 1,000 images.
        Assert.Equal(accuracy, result.Epochs[^1].ValidationAccuracy!.Value, 0.002);
        Assert.True(result.Epochs[^1].TrainLoss < result.Epochs[0].TrainLoss);
    }

    [Fact]
    public void NcmHead_PrototypesAreTheClassMeansOfNormalisedEmbeddings()
    {
        using var data = FashionMnist.Dataset(6 * 32);
        using var bundle = Seeded(Small with { Head = "ncm" }).Train(data, null).Bundle;
        var ncm = Assert.IsType<NcmHead>(bundle.Model.Head);
        using var z = ClassifierInference.Embeddings(bundle.Model, bundle.Description.Normalization, data.Inputs);
        using var zn = nn.functional.normalize(z, dim: 1);
        for (var c = 0; c < 10; c++)
        {
            var rows = Enumerable.Range(0, data.Count).Where(i => data.Labels[i] == c).Select(i => (long)i).ToArray();
            using var mean = zn.index_select(0, tensor(rows)).mean([0]);
            Assert.True(mean.allclose(ncm.Prototypes[c], rtol: 1e-5, atol: 1e-6), $"class {c}");
        }
    }

    [Fact]
    public void HugeLearningRate_StopsWithADivergenceMessage()
    {
        using var data = FashionMnist.Dataset(4 * 32);
        var e = Assert.Throws<ProteaException>(() => Seeded(Small with { LearningRate = 1e30, Schedule = "constant" }).Train(data, null));
        Assert.Contains("diverged", e.Message);
    }

    private static void AssertSameWeights(Classifier a, Classifier b)
    {
        var sa = a.state_dict();
        var sb = b.state_dict();
        Assert.Equal(sa.Keys, sb.Keys);
        foreach (var (name, t) in sa)
            Assert.True(TensorAssert.Identical(t, sb[name]), $"{name} differs");
    }
}

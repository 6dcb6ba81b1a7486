using Protea.Data;
using Protea.Evaluation;
using Protea.Models;
using Protea.Tests.Support;
using Protea.Training;
using Protea.Training.Objectives;
using Protea.Training.Stages;
using TorchSharp;
using static TorchSharp.torch;

namespace Protea.Tests.Training;

/// <summary>The learner's seams: a saved starting model, frozen groups, small data, objectives and stages.</summary>
public sealed class LearnerPluginTests
{
    private static readonly TrainOptions Small = new()
    {
        Epochs = 1, BatchSize = 32, LearningRate = 0.05, Schedule = "onecycle", ValidationFraction = 0, Seed = 3, Threads = 2,
    };

    private sealed class SyncProgress(Action<TrainingProgress> onReport) : IProgress<TrainingProgress>
    {
        public void Report(TrainingProgress value) => onReport(value);
    }

    [Fact]
    public void StartFromSavedModel_WithBackboneFrozen_LeavesTheBackboneBitIdenticalAndTrainsTheHead()
    {
        using var dir = new TempDir();
        var modelDir = dir.File("model");
        using (var first = FashionMnist.Dataset(64))
        {
            manual_seed(1);
            using var trained = new Trainer(Small).Train(first, null).Bundle;
            trained.Save(modelDir);
        }
        using var saved = ModelBundle.Load(modelDir);
        // Other images (the test split): normalisation refitted on them would differ from the saved one.
        using var more = FashionMnist.Dataset(96, train: false);
        var runDir = dir.File("run");
        var trainer = new Trainer(Small with { Epochs = 2, Schedule = "constant" })
        {
            StartFrom = saved,
            ParameterGroups = [ParameterGroup.Freeze("backbone.*")],
        };
        using var after = trainer.Train(more, null, runDir).Bundle;

        var file = SafeTensors.Read(ModelBundle.WeightsPath(modelDir));
        var now = after.Model.state_dict();
        Assert.Equal(file.Keys.Order(), now.Keys.Order());
        var backbone = file.Keys.Where(k => k.StartsWith("backbone.", StringComparison.Ordinal)).ToList();
        Assert.Contains(backbone, k => k.EndsWith("running_mean", StringComparison.Ordinal)); // BatchNorm statistics are frozen too
        foreach (var name in backbone)
            Assert.True(TensorAssert.Identical(file[name], now[name]), $"{name} changed");
        Assert.False(TensorAssert.Identical(file["head.weight"], now["head.weight"]), "the head did not train");
        Assert.Equal(saved.Description.Normalization.Mean, after.Description.Normalization.Mean);
        Assert.Equal(saved.Description.Normalization.Std, after.Description.Normalization.Std);
        Assert.NotEqual(InputNormalization.Fit(more.Inputs).Mean, after.Description.Normalization.Mean);

        // Frozen parameters get no optimizer state; the head's momentum buffers are there.
        var optimizerState = SafeTensors.Read(Path.Combine(runDir, "checkpoint", "optimizer.safetensors"));
        Assert.DoesNotContain(optimizerState.Keys, k => k.Contains(".backbone.", StringComparison.Ordinal));
        Assert.Contains("momentum_buffer.head.weight", optimizerState.Keys);
        // The starting bundle itself is left as it was.
        Assert.True(TensorAssert.Identical(file["head.weight"], saved.Model.state_dict()["head.weight"]));
    }

    [Fact]
    public void StartFromSavedModel_WithOtherClasses_IsRefused()
    {
        using var data = FashionMnist.Dataset(8);
        manual_seed(0);
        using var bundle = new Trainer(Small with { BatchSize = 4 }).Train(data, null).Bundle;
        using var renamed = new Dataset(data.Inputs.clone(), data.Labels, FashionMnist.ClassNames.Select(c => c + "!").ToArray(), InputKind.Image, "renamed");
        var e = Assert.Throws<ProteaException>(() => new Trainer(Small) { StartFrom = bundle }.Train(renamed, null));
        Assert.Equal("data", e.Field);
        Assert.Contains("starting model", e.Message);
    }

    [Fact]
    public void EverythingFrozen_IsRefused()
    {
        using var data = FashionMnist.Dataset(8);
        var e = Assert.Throws<ProteaException>(() => new Trainer(Small) { ParameterGroups = [ParameterGroup.Freeze("*")] }.Train(data, null));
        Assert.Equal("parameter_groups", e.Field);
        Assert.Contains("nothing to train", e.Message);
    }

    [Fact]
    public void FiveImages_TrainAsOneSmallBatchPerEpoch()
    {
        using var data = FashionMnist.Dataset(5);
        var batches = new List<int>();
        manual_seed(0);
        var result = new Trainer(Small with { Epochs = 5, Schedule = "constant", Flip = false }, new SyncProgress(p => batches.Add(p.Batches))).Train(data, null);
        using var bundle = result.Bundle;
        Assert.Equal(5, result.Epochs.Count);
        Assert.All(batches, b => Assert.Equal(1, b));
        Assert.All(result.Epochs, e => Assert.True(double.IsFinite(e.TrainLoss)));
        Assert.True(result.Epochs[^1].TrainLoss < result.Epochs[0].TrainLoss,
            $"loss {result.Epochs[0].TrainLoss:F4} -> {result.Epochs[^1].TrainLoss:F4} on the same five images");
    }

    [Fact]
    public void ARemainderOfOne_JoinsTheLastBatch()
    {
        using var data = FashionMnist.Dataset(33);
        var batches = new List<int>();
        manual_seed(0);
        var result = new Trainer(Small, new SyncProgress(p => batches.Add(p.Batches))).Train(data, null);
        using var bundle = result.Bundle;
        Assert.All(batches, b => Assert.Equal(1, b));
        Assert.Equal(33, result.ExamplesPerSecond * result.TrainSeconds, 1e-6);
    }

    [Fact]
    public void OneLabelledExample_IsRefused()
    {
        using var two = FashionMnist.Dataset(2);
        using var data = new Dataset(two.Inputs.clone(), [3, -1], two.ClassNames, InputKind.Image, "one.csv");
        var e = Assert.Throws<ProteaException>(() => new Trainer(Small).Train(data, null));
        Assert.Equal("data", e.Field);
        Assert.Contains("1 labelled training example;", e.Message);
    }

    /// <summary>Adds a constant to the loss: no gradient, so the weights are those of the plain run and the reported loss is c higher.</summary>
    private sealed class ConstantObjective(double c) : IObjective
    {
        public string Name => "constant";
        public ObjectiveNeeds Needs => ObjectiveNeeds.Logits;
        public Tensor Loss(TrainingBatch batch, ModelOutputs outputs) => full(1, c).squeeze();
    }

    /// <summary>(lambda / 2) * ||head.weight||^2, whose gradient lambda * w is SGD's weight decay on that tensor.</summary>
    private sealed class HeadWeightPenalty(double lambda) : IObjective
    {
        public string Name => "head_l2";
        public ObjectiveNeeds Needs => ObjectiveNeeds.Logits;
        public Tensor Loss(TrainingBatch batch, ModelOutputs outputs)
        {
            var w = outputs.Model.named_parameters().Single(p => p.name == "head.weight").parameter;
            using var half = (lambda / 2).ToScalar();
            return w.pow(2).sum().mul(half);
        }
    }

    [Fact]
    public void AConstantObjective_RaisesTheLossByItsValueAndLeavesTheWeights()
    {
        using var data = FashionMnist.Dataset(4 * 32);
        manual_seed(3);
        var plain = new Trainer(Small).Train(data, null);
        using var plainBundle = plain.Bundle;
        manual_seed(3);
        var shifted = new Trainer(Small) { Objectives = [new CrossEntropyObjective(), new ConstantObjective(0.75)] }.Train(data, null);
        using var shiftedBundle = shifted.Bundle;
        foreach (var (name, t) in plainBundle.Model.state_dict())
            Assert.True(TensorAssert.Identical(t, shiftedBundle.Model.state_dict()[name]), $"{name} differs");
        Assert.Equal(plain.Epochs[0].TrainLoss + 0.75, shifted.Epochs[0].TrainLoss, 1e-5);
    }

    [Fact]
    public void AnL2PenaltyObjective_EqualsWeightDecayOnThatParameterGroup()
    {
        using var data = FashionMnist.Dataset(4 * 32);
        var options = Small with { WeightDecay = 0, Epochs = 2 };
        Classifier Run(Trainer trainer)
        {
            manual_seed(3);
            return trainer.Train(data, null).Bundle.Model;
        }
        using var none = Run(new Trainer(options));
        using var penalised = Run(new Trainer(options) { Objectives = [new CrossEntropyObjective(), new HeadWeightPenalty(0.5)] });
        using var decayed = Run(new Trainer(options) { ParameterGroups = [new ParameterGroup("head.weight") { WeightDecay = 0.5 }] });
        var p = penalised.state_dict();
        var d = decayed.state_dict();
        foreach (var (name, t) in p)
            Assert.True(t.allclose(d[name], rtol: 1e-4, atol: 1e-6), $"{name}: penalty and group weight decay disagree");
        Assert.False(none.state_dict()["head.weight"].allclose(d["head.weight"], rtol: 1e-2, atol: 1e-4), "the decay made no difference");
    }

    /// <summary>Asks for everything the loop can compute and records what it got.</summary>
    private sealed class RecordingObjective : IObjective
    {
        public List<string> Seen { get; } = [];
        public string Name => "recording";
        public ObjectiveNeeds Needs => ObjectiveNeeds.Embedding | ObjectiveNeeds.FeatureMap | ObjectiveNeeds.SecondView;

        public Tensor Loss(TrainingBatch batch, ModelOutputs outputs)
        {
            var view = Assert.IsType<ModelOutputs>(outputs.SecondView);
            Seen.Add(string.Join(" ", $"logits [{string.Join(", ", outputs.Logits.shape)}]",
                $"embedding [{string.Join(", ", outputs.Embedding!.shape)}]", $"map {outputs.FeatureMap!.dim()}-d",
                $"view {view.Logits.shape[0]}", $"same view {batch.Inputs.allclose(batch.SecondView!)}"));
            return nn.functional.cross_entropy(outputs.Logits, batch.Labels);
        }
    }

    [Fact]
    public void AnObjective_GetsTheEmbeddingFeatureMapAndSecondViewItAsksFor()
    {
        using var data = FashionMnist.Dataset(64);
        var recording = new RecordingObjective();
        manual_seed(0);
        using var _ = new Trainer(Small with { CropPadding = 2 }) { Objectives = [recording] }.Train(data, null).Bundle;
        Assert.Equal(["logits [32, 10] embedding [32, 128] map 4-d view 32 same view False"], recording.Seen.Distinct());
        Assert.Equal(2, recording.Seen.Count);
    }

    private sealed class RecordingStage : IStage
    {
        public List<string> Calls { get; } = [];
        public void BeforeTraining(StageContext context) => Calls.Add($"before {context.Train.Count}");
        public void AfterEpoch(StageContext context, EpochRecord epoch) => Calls.Add($"epoch {epoch.Epoch}");
        public void AfterTraining(StageContext context) => Calls.Add("after");
    }

    [Fact]
    public void Stages_RunAroundTheEpochs()
    {
        using var two = FashionMnist.Dataset(40);
        // Unlabelled examples are not among the ones stages see.
        using var data = new Dataset(two.Inputs.clone(), two.Labels.Select((l, i) => i < 8 ? -1 : l).ToArray(), two.ClassNames, InputKind.Image, "mixed");
        var stage = new RecordingStage();
        manual_seed(0);
        using var _ = new Trainer(Small with { Epochs = 2 }) { Stages = [stage] }.Train(data, null).Bundle;
        Assert.Equal(["before 32", "epoch 1", "epoch 2", "after"], stage.Calls);
    }
}

using System.Globalization;
using Protea.Data;
using Protea.Evaluation;
using Protea.Models;
using Protea.Tests.Models;
using Protea.Tests.Support;
using Protea.Training;
using Protea.Training.Stages;
using SkiaSharp;
using static TorchSharp.torch;

namespace Protea.Tests.Training;

/// <summary>Best-epoch weights kept, BatchNorm statistics re-estimated, pretrained backbones stepped slower.</summary>
public sealed class RecipeSafetyTests(TorchvisionResNet18Fixture torchvision) : IClassFixture<TorchvisionResNet18Fixture>
{
    /// <summary>Logistic-regression data: 8 standard-normal features, the class is the sign of w.x plus noise.</summary>
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
            y[i] = dot + 0.5 * Normal() > 0 ? 1 : 0;
        }
        return new Dataset(tensor(x).reshape(n, 8), y, ["neg", "pos"], InputKind.Tabular, "logistic");
    }

    private static double Accuracy(ModelBundle bundle, Dataset data) =>
        ClassificationMetrics.Evaluate(ClassifierInference.Logits(bundle.Model, bundle.Description.Normalization, data.Inputs), data.Labels, data.ClassNames).Accuracy;

    [Fact]
    public void KeepBest_RestoresTheEpochWithTheBestValidationAccuracy()
    {
        using var train = Logistic(400, 1);
        using var validation = Logistic(200, 2);
        // A noisy run: constant learning rate 2, so validation accuracy goes up and down between epochs.
        var options = new TrainOptions { Architecture = "mlp", Epochs = 8, BatchSize = 32, LearningRate = 2, Schedule = "constant", Seed = 4, Threads = 2 };
        manual_seed(4);
        var best = new Trainer(options).Train(train, validation);
        using var bestBundle = best.Bundle;
        manual_seed(4);
        var last = new Trainer(options with { Keep = "last" }).Train(train, validation);
        using var lastBundle = last.Bundle;

        // The rule, applied by hand to the history: highest validation accuracy, then lowest loss, then earliest.
        var expected = best.Epochs.OrderByDescending(e => e.ValidationAccuracy).ThenBy(e => e.ValidationLoss).ThenBy(e => e.Epoch).First();
        Assert.Equal(expected.Epoch, best.KeptEpoch);
        Assert.Equal("best validation accuracy", best.KeptBy);
        Assert.NotEqual(8, best.KeptEpoch); // this run's last epoch is not its best, so the test shows a restore
        // The saved model scores what its epoch scored, measured afresh; the last epoch's model what the last epoch did.
        Assert.Equal(expected.ValidationAccuracy!.Value, Accuracy(bestBundle, validation), 1e-9);
        Assert.Equal(last.Epochs[^1].ValidationAccuracy!.Value, Accuracy(lastBundle, validation), 1e-9);
        Assert.Equal(8, last.KeptEpoch);
        Assert.Null(best.FinalValidationLogits); // the last pass scored other weights
        // Without validation data there is nothing to choose by.
        manual_seed(4);
        var blind = new Trainer(options with { Epochs = 2 }).Train(train, null);
        using var blindBundle = blind.Bundle;
        Assert.Equal((2, "last epoch"), (blind.KeptEpoch, blind.KeptBy));
        Assert.Equal("keep", Assert.Throws<ProteaException>(() => new Trainer(options with { Keep = "first" }).Train(train, null)).Field);
    }

    private sealed class StopAfter(int epoch, CancellationTokenSource cancel) : IProgress<TrainingProgress>
    {
        public void Report(TrainingProgress value) { if (value.Completed?.Epoch == epoch) cancel.Cancel(); }
    }

    [Fact]
    public void KeepBest_ChoosesAmongEpochsBeforeAndAfterAResume()
    {
        using var train = Logistic(400, 1);
        using var validation = Logistic(200, 2);
        var options = new TrainOptions { Architecture = "mlp", Epochs = 8, BatchSize = 32, LearningRate = 2, Schedule = "constant", Seed = 4, Threads = 2 };
        using var whole = new TempDir();
        manual_seed(4);
        var uninterrupted = new Trainer(options).Train(train, validation, whole.Path);
        using var uninterruptedBundle = uninterrupted.Bundle;
        var kept = uninterrupted.KeptEpoch!.Value;
        Assert.True(kept < 8, $"kept epoch {kept}: the test needs a best epoch before the last");

        // Stopped right after the best epoch, then resumed: the best is in the checkpoint, not in this process's memory.
        using var run = new TempDir();
        using var cancel = new CancellationTokenSource();
        manual_seed(4);
        Assert.ThrowsAny<OperationCanceledException>(() => new Trainer(options, new StopAfter(kept, cancel)).Train(train, validation, run.Path, cancellation: cancel.Token));
        var resumed = new Trainer(options).Train(train, validation, run.Path, resume: true);
        using var resumedBundle = resumed.Bundle;
        Assert.Equal(kept, resumed.KeptEpoch);
        foreach (var (name, tensor) in uninterruptedBundle.Model.state_dict())
            Assert.True(TensorAssert.Identical(tensor, resumedBundle.Model.state_dict()[name]), name);
    }

    private const string UpdateBnOracle = """
        import json, sys
        import torch
        from torch.optim.swa_utils import update_bn
        import protea_reference as ref

        before, inputs, after, batch = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
        net, desc, _ = ref.load_model(before)
        x, _ = ref.read_safetensors(inputs)
        old = {k: v.clone() for k, v in net.state_dict().items()}
        update_bn(list(x['x'].split(batch)), net)
        ours, _ = ref.read_safetensors(after + '/model.safetensors')
        worst, moved, n, where = 0.0, 0.0, 0, ''
        for k, v in net.state_dict().items():
            if 'running_' in k:
                n += 1
                d = ((ours[k] - v).abs().max() / v.abs().max()).item()
                if d > worst: worst, where = d, '%s: ours %s, update_bn %s' % (k, ours[k][:4].tolist(), v[:4].tolist())
                moved = max(moved, ((old[k] - v).abs().max() / v.abs().max()).item())
            elif 'num_batches' not in k:
                assert torch.equal(ours[k], v), k
        print(json.dumps({'worst': worst, 'moved': moved, 'n': n, 'where': where}))
        """;

    [Fact]
    public void Recalibration_MatchesPyTorchsUpdateBn()
    {
        using var dir = new TempDir();
        using var data = FashionMnist.Dataset(300);
        manual_seed(5);
        var options = new TrainOptions { Epochs = 1, BatchSize = 64, LearningRate = 0.05, Seed = 5, Threads = 2 };
        using var bundle = new Trainer(options).Train(data, null).Bundle;
        bundle.Save(dir.File("before"));
        var normalization = bundle.Description.Normalization;
        using (var x = normalization.Apply(data.Inputs))
            SafeTensors.Write(dir.File("inputs.safetensors"), new Dictionary<string, Tensor> { ["x"] = x });
        // 300 = 4 batches of 64 and one of 44: each batch weighs the same, as in update_bn. The comparison is
        // relative to each tensor's largest entry (convolution kernels differ in float32 rounding).
        Assert.Equal(5, BatchNormRecalibration.Recalibrate(bundle.Model, normalization, data.Inputs, 64));
        bundle.Save(dir.File("after"));

        var result = System.Text.Json.JsonDocument.Parse(Python.Run(UpdateBnOracle, dir.File("before"), dir.File("inputs.safetensors"), dir.File("after"), "64")).RootElement;
        Assert.Equal(10, result.GetProperty("n").GetInt32()); // 5 layers x (mean, var)
        // 5e-4: float32 sums over 300 items in another order (measured up to 1.1e-4); a wrong rule (momentum
        // instead of the cumulative average, or unnormalised inputs) is off by far more than that.
        Assert.True(result.GetProperty("worst").GetDouble() < 5e-4, $"largest relative difference from update_bn: {result.GetProperty("worst").GetDouble()} ({result.GetProperty("where").GetString()})");
        Assert.True(result.GetProperty("moved").GetDouble() > 1e-2, "recalibration left the statistics where training put them; the test could not fail");
    }

    [Theory]
    [InlineData("on", 100_000, true)]
    [InlineData("off", 10, false)]
    [InlineData("auto", 2_000, true)]
    [InlineData("auto", 2_001, false)]
    public void Recalibration_Rule(string mode, long steps, bool expected) => Assert.Equal(expected, BatchNormRecalibration.Applies(mode, steps));

    [Fact]
    public void AutoRecipe_Recalibrates_AndAnUnknownModeIsRefused()
    {
        Assert.Equal("auto", AutoRecipe.Choose(new AutoRecipe.Inputs(1100, 10, [3, 32, 32], InputKind.Image, "resnet18")).BatchNormRecalibration);
        Assert.Equal("off", Recipes.Get("quick").BatchNormRecalibration);
        using var data = Logistic(64, 1);
        var e = Assert.Throws<ProteaException>(() => new Trainer(new TrainOptions { Architecture = "mlp", BatchNormRecalibration = "sometimes" }).Train(data, null));
        Assert.Equal("batch_norm_recalibration", e.Field);
    }

    [Fact]
    public void FineTuning_GivesTheBackboneATenthOfTheHeadsRate_UnlessAGroupSaysOtherwise()
    {
        using var model = new Classifier(new ReferenceCnn(1), new LinearHead(128, 10));
        var plain = new TrainOptions { LearningRate = 0.1 };
        Assert.Empty(FineTuning.Groups(plain, []));
        var tuned = plain with { Init = "weights.safetensors" };
        var groups = ParameterGroup.Assign(model, FineTuning.Groups(tuned, []), tuned);
        Assert.Equal(2, groups.Count);
        Assert.All(groups[0].Parameters, p => Assert.StartsWith("head.", p.Name));
        Assert.Equal(1, groups[0].LearningRateScale);
        Assert.All(groups[1].Parameters, p => Assert.StartsWith("backbone.", p.Name));
        Assert.Equal(0.1, groups[1].LearningRateScale, 1e-12);
        Assert.Equal(0.25, ParameterGroup.Assign(model, FineTuning.Groups(tuned with { BackboneLearningRateScale = 0.25 }, []), tuned)[1].LearningRateScale, 1e-12);
        // A caller's own group for the backbone comes first, so it wins.
        var own = ParameterGroup.Assign(model, FineTuning.Groups(tuned, [new ParameterGroup("backbone.*") { LearningRateScale = 0.5 }]), tuned);
        Assert.Equal(0.5, own.Single(g => g.Parameters.Any(p => p.Name.StartsWith("backbone.", StringComparison.Ordinal))).LearningRateScale);
        Assert.Equal("backbone_learning_rate_scale",
            Assert.Throws<ProteaException>(() => FineTuning.Check(tuned with { BackboneLearningRateScale = -1 })).Field);
    }

    [Fact]
    public void FineTuning_StepsTheBackboneAtATenthOfTheRate_InAWholeRun()
    {
        // One plain SGD step (no momentum, no weight decay, constant rate) on one batch of all 8 images: the
        // same gradient in both runs, so the backbone moves a tenth as far as with scale 1, the head as far.
        var random = new Random(3);
        var x = new byte[8 * 3 * 32 * 32];
        random.NextBytes(x);
        using var data = new Dataset(tensor(x).reshape(8, 3, 32, 32), [0, 1, 0, 1, 0, 1, 0, 1], ["a", "b"], InputKind.Image, "noise");
        var options = new TrainOptions
        {
            Architecture = "resnet18", Stem = "imagenet", Init = torchvision.BareFile, Epochs = 1, BatchSize = 8, LearningRate = 0.1,
            Momentum = 0, Nesterov = false, WeightDecay = 0, Schedule = "constant", Seed = 6, Threads = 2,
        };
        ModelBundle Run(TrainOptions o) { manual_seed(6); return new Trainer(o).Train(data, null).Bundle; }
        using var tenth = Run(options);
        using var full = Run(options with { BackboneLearningRateScale = 1 });
        var init = SafeTensors.Read(torchvision.BareFile);
        var a = tenth.Model.state_dict();
        var b = full.Model.state_dict();
        foreach (var name in new[] { "conv1.weight", "layer4.1.conv2.weight", "layer2.0.bn1.weight" })
        {
            using var moveTenth = a["backbone." + name] - init[name];
            using var moveFull = b["backbone." + name] - init[name];
            Assert.True(moveFull.abs().max().item<float>() > 0, name);
            // Relative to the move's size (float32 rounding of weight minus init is the noise): 1 %.
            var ratio = (moveTenth - moveFull * 0.1).norm().item<float>() / (moveFull * 0.1).norm().item<float>();
            Assert.True(ratio < 1e-2, $"{name}: the backbone did not move a tenth as far (relative difference {ratio})");
        }
        Assert.True(TorchSharp.torch.allclose(a["head.weight"], b["head.weight"], rtol: 1e-5, atol: 1e-8));
        Assert.Equal(0.1, tenth.Description.Recipe!["backbone_learning_rate_scale"]!.GetValue<double>(), 1e-12);
        foreach (var t in init.Values) t.Dispose();
    }
}

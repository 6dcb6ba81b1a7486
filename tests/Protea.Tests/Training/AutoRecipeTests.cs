using System.Text.Json;
using Protea.Data;
using Protea.Training;
using Protea.Tests.Support;

namespace Protea.Tests.Training;

public sealed class AutoRecipeTests
{
    // Hand-checked: batch = pow2floor(n/8) within [16, 128] (64 above 3x64x64), at most pow2floor(n);
    // steps/epoch from RandomBatchSampler (a remainder under half a batch joins the last batch);
    // epochs = ceil(clamp(100 * classes, 500, 2000) / steps per epoch) within [4, 300];
    // lr = 0.1 * batch / 128 (the new head's when pretrained: the backbone gets a tenth, FineTuning); warm-up 0.5 / 0.4 / 0.3 below 1,000 / 10,000 items.
    [Theory]
    // The folder: 1,100 RGB 32x32 images, 10 classes. 1100/8 = 137 -> 128; 8 full batches + 76 (>= 64) = 9 steps; ceil(1000/9) = 112.
    [InlineData(1100, 10, new long[] { 3, 32, 32 }, "resnet18", false, 112, 128, 0.1, 0.4, 5e-4)]
    // Iris-sized table: 150/8 = 18 -> 16; 9 full batches + 6 (< 8, merged) = 9 steps; 3 classes -> 500 steps; ceil(500/9) = 56.
    [InlineData(150, 3, new long[] { 4 }, "mlp", false, 56, 16, 0.0125, 0.5, 5e-4)]
    // Fashion-MNIST-sized: 7500 -> 4096 -> 128; 468 full + 96 = 469 steps; ceil(1000/469) = 3 -> at least 4 epochs.
    [InlineData(60000, 10, new long[] { 1, 28, 28 }, "cnn", false, 4, 128, 0.1, 0.3, 5e-4)]
    // Ten items: 1 -> 16, but at most pow2floor(10) = 8; 1 step; 500 epochs capped at 300.
    [InlineData(10, 2, new long[] { 2 }, "mlp", false, 300, 8, 0.00625, 0.5, 5e-4)]
    // Fine-tuning on 224x224: 625 -> 512 -> cap 64; 78 full + 8 (merged) = 78 steps; 20 classes -> 2000 steps; ceil(2000/78) = 26.
    [InlineData(5000, 20, new long[] { 3, 224, 224 }, "resnet18", true, 26, 64, 0.05, 0.4, 1e-4)]
    public void Choose_GivesTheHandCheckedValues(int items, int classes, long[] shape, string arch, bool pretrained,
        int epochs, int batch, double lr, double warmup, double weightDecay)
    {
        var kind = shape.Length == 1 ? InputKind.Tabular : InputKind.Image;
        var o = AutoRecipe.Choose(new AutoRecipe.Inputs(items, classes, shape, kind, arch, pretrained));
        Assert.Equal(epochs, o.Epochs);
        Assert.Equal(batch, o.BatchSize);
        Assert.Equal(lr, o.LearningRate, 1e-12);
        Assert.Equal(warmup, o.Warmup);
        Assert.Equal(weightDecay, o.WeightDecay);
        Assert.Equal(arch, o.Architecture);
        Assert.False(o.Flip);
        Assert.Equal(0, o.CropPadding);
        Assert.Equal("onecycle", o.Schedule);
    }

    [Fact]
    public void Choose_KeepsTheBaselinesOtherFields_AndSmallDataGetsEnoughSteps()
    {
        var baseline = new TrainOptions { Seed = 7, Threads = 1, ValidationFraction = 0.2, LabelSmoothing = 0.1 };
        var o = AutoRecipe.Choose(new AutoRecipe.Inputs(300, 5, [3, 32, 32], InputKind.Image, "cnn"), baseline);
        Assert.Equal((7, 1, 0.2, 0.1), (o.Seed, o.Threads, o.ValidationFraction, o.LabelSmoothing));
        for (var n = 60; n <= 20000; n = n * 3 / 2)
        {
            var r = AutoRecipe.Choose(new AutoRecipe.Inputs(n, 10, [3, 32, 32], InputKind.Image, "resnet18"));
            var steps = (long)Protea.Training.Sampling.RandomBatchSampler.Sizes(n, r.BatchSize).Count * r.Epochs;
            Assert.InRange(steps, 1000, 1000 + Protea.Training.Sampling.RandomBatchSampler.Sizes(n, r.BatchSize).Count);
            Assert.InRange(r.BatchSize, 16, Math.Max(16, n / 8));
        }
    }

    [Fact]
    public void Recipes_FashionMnistKeepsQuick_OtherDataIsAuto()
    {
        Assert.Equal("quick", Recipes.DefaultFor(DataSourceKind.FashionMnist));
        Assert.Equal("auto", Recipes.DefaultFor(DataSourceKind.ImageFolder));
        Assert.Equal("auto", Recipes.DefaultFor(DataSourceKind.Csv));
        var quick = Recipes.Get("quick");
        Assert.Equal((4, 128, 0.1, 5e-4, "onecycle", true, (double?)null), (quick.Epochs, quick.BatchSize, quick.LearningRate, quick.WeightDecay, quick.Schedule, quick.Flip, quick.Warmup));
    }

    [Fact]
    public void Warmup_MatchesPyTorchOneCyclePctStart()
    {
        const int steps = 61;
        var script = """
            import json, sys, torch
            p = torch.nn.Parameter(torch.zeros(1))
            opt = torch.optim.SGD([p], lr=0.05, momentum=0.9, nesterov=True)
            s = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=0.05, total_steps=int(sys.argv[1]), pct_start=0.5)
            lrs = []
            for _ in range(int(sys.argv[1])):
                lrs.append(opt.param_groups[0]["lr"]); opt.step(); s.step()
            print(json.dumps(lrs))
            """;
        using var doc = JsonDocument.Parse(Python.Run(script, steps.ToString()));
        var expected = doc.RootElement.EnumerateArray().Select(e => e.GetDouble()).ToArray();
        var schedule = new LearningRateSchedule("onecycle", 0.05, steps, warmup: 0.5);
        for (var step = 0; step < steps; step++)
            Assert.Equal(expected[step], schedule.LearningRate(step), 1e-10);
        Assert.Equal("warmup", Assert.Throws<ProteaException>(() => new LearningRateSchedule("onecycle", 0.1, 10, warmup: 1.5)).Field);
    }
}

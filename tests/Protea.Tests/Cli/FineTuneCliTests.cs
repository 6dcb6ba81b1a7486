using System.Text.Json;
using Protea.Models;
using Protea.Tests.Models;
using Protea.Tests.Support;
using SkiaSharp;

namespace Protea.Tests.Cli;

/// <summary>`protea train --arch resnet18 --stem imagenet --init torchvision.safetensors` on an image folder, end to end.</summary>
public sealed class FineTuneCliTests(TorchvisionResNet18Fixture torchvision) : IClassFixture<TorchvisionResNet18Fixture>
{
    [Fact]
    public void Train_FromTorchvisionWeights_OnAnImageFolder_WritesAResNetModel()
    {
        using var dir = new TempDir();
        // Two visually distinct classes of 24x24 RGB images: red-dominant and blue-dominant noise.
        var random = new Random(3);
        foreach (var (cls, tint) in new[] { ("red", new SKColor(200, 40, 40)), ("blue", new SKColor(40, 40, 200)) })
            for (var i = 0; i < 12; i++)
                TestImages.Write(dir.File($"data/{cls}/{i:00}.png"), 24, 24, (_, _) =>
                    new SKColor((byte)Math.Clamp(tint.Red + random.Next(-30, 30), 0, 255), (byte)Math.Clamp(tint.Green + random.Next(-30, 30), 0, 255),
                        (byte)Math.Clamp(tint.Blue + random.Next(-30, 30), 0, 255)));
        var run = dir.File("run");
        string[] recipe = ["--image-size", "32", "--epochs", "2", "--batch-size", "8", "--lr", "0.01", "--validation", "0.25", "--json"];
        var r = CliRunner.Run(["train", "--data", dir.File("data"), "--arch", "resnet18", "--stem", "imagenet", "--init", torchvision.BareFile,
            .. recipe, "--out", run]);
        Assert.True(r.ExitCode == 0, r.Stderr);
        using var json = JsonDocument.Parse(r.Stdout);
        Assert.Equal(6, json.RootElement.GetProperty("validation_count").GetInt32());
        var description = ModelBundle.ReadDescription(run);
        Assert.Equal("resnet18", description.Architecture);
        Assert.Equal("imagenet", description.Stem);
        Assert.Equal([3L, 32, 32], description.InputShape);
        Assert.Equal(["blue", "red"], description.ClassNames);

        // The same run without --init starts from random weights, about sqrt(2) away from torchvision's in
        // relative L2 (independent draws of the same scale). A few small SGD steps move the 16 convolutions
        // of the residual blocks by a few percent, so the --init run must still sit next to the init file.
        // The stem's convolution sees the raw, strongly tinted pixels and moves more; it must still be
        // clearly nearer the init file than the run from scratch is.
        var scratch = dir.File("scratch");
        var s = CliRunner.Run(["train", "--data", dir.File("data"), "--arch", "resnet18", "--stem", "imagenet", .. recipe, "--out", scratch]);
        Assert.True(s.ExitCode == 0, s.Stderr);
        var init = SafeTensors.Read(torchvision.BareFile);
        var tuned = SafeTensors.Read(ModelBundle.WeightsPath(run));
        var fresh = SafeTensors.Read(ModelBundle.WeightsPath(scratch));
        try
        {
            var convs = init.Keys.Where(k => k.StartsWith("layer") && (k.EndsWith("conv1.weight") || k.EndsWith("conv2.weight"))).ToList();
            Assert.Equal(16, convs.Count);
            foreach (var name in convs)
            {
                var fromInit = RelativeDistance(tuned["backbone." + name], init[name]);
                var fromScratch = RelativeDistance(fresh["backbone." + name], init[name]);
                Assert.True(fromInit < 0.1, $"{name}: the --init run is {fromInit:g3} (relative L2) from the init file");
                Assert.True(fromScratch > 1, $"{name}: the run without --init is only {fromScratch:g3} from the init file");
            }
            var stemFromInit = RelativeDistance(tuned["backbone.conv1.weight"], init["conv1.weight"]);
            var stemFromScratch = RelativeDistance(fresh["backbone.conv1.weight"], init["conv1.weight"]);
            Assert.True(stemFromInit < stemFromScratch / 2, $"stem: --init run {stemFromInit:g3}, run without --init {stemFromScratch:g3} from the init file");
        }
        finally
        {
            foreach (var t in init.Values.Concat(tuned.Values).Concat(fresh.Values)) t.Dispose();
        }
    }

    /// <summary>||a - b|| / ||b|| over all elements.</summary>
    private static double RelativeDistance(TorchSharp.torch.Tensor a, TorchSharp.torch.Tensor b)
    {
        using var diff = a.to(TorchSharp.torch.float64) - b.to(TorchSharp.torch.float64);
        using var num = diff.norm();
        using var bb = b.to(TorchSharp.torch.float64);
        using var den = bb.norm();
        return num.item<double>() / den.item<double>();
    }

    [Fact]
    public void Train_InitWithTheCnn_IsExitCode2BeforeReadingData()
    {
        var r = CliRunner.Run("train", "--data", "fashion-mnist", "--arch", "cnn", "--init", torchvision.BareFile, "--out", "unused", "--json");
        Assert.Equal(2, r.ExitCode);
        Assert.Contains("--init", r.Stderr);
        Assert.Equal("", r.Stdout);
    }
}

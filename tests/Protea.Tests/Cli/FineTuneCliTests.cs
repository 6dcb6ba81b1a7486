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
        var r = CliRunner.Run("train", "--data", dir.File("data"), "--arch", "resnet18", "--stem", "imagenet", "--init", torchvision.BareFile,
            "--image-size", "32", "--epochs", "2", "--batch-size", "8", "--lr", "0.01", "--validation", "0.25", "--out", run, "--json");
        Assert.True(r.ExitCode == 0, r.Stderr);
        using var json = JsonDocument.Parse(r.Stdout);
        Assert.Equal(6, json.RootElement.GetProperty("validation_count").GetInt32());
        var description = ModelBundle.ReadDescription(run);
        Assert.Equal("resnet18", description.Architecture);
        Assert.Equal("imagenet", description.Stem);
        Assert.Equal([3L, 32, 32], description.InputShape);
        Assert.Equal(["blue", "red"], description.ClassNames);
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

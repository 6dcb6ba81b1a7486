using System.Text.Json;
using Protea.Data;
using Protea.Models;
using Protea.Tests.Support;
using SkiaSharp;
using static TorchSharp.torch;

namespace Protea.Tests.Cli;

public sealed class PredictImagesTests
{
    /// <summary>
    /// PNG files -> `protea predict` must classify each image as the model does on the same pixels
    /// given directly as a tensor (PNG is lossless, so the decoded pixels are identical).
    /// </summary>
    [Fact]
    public void Predict_OnPngFiles_MatchesTheModelOnTheSamePixels()
    {
        using var dir = new TempDir();
        manual_seed(1);
        var (images, _) = FashionMnist.FirstTestImages(12);
        using (images)
        {
            var description = new ModelDescription
            {
                Architecture = "cnn", Head = "linear", InputKind = InputKind.Image, InputShape = [1, 28, 28],
                ClassNames = FashionMnist.ClassNames, Normalization = new InputNormalization([0.286], [0.353], 1 / 255.0),
            };
            using var bundle = new ModelBundle(description, Architectures.Create(description));
            bundle.Model.eval();
            var modelDir = dir.File("model");
            bundle.Save(modelDir);
            var logits = ClassifierInference.Logits(bundle.Model, description.Normalization, images);

            var files = new List<string>();
            for (var i = 0; i < 12; i++)
            {
                var pixels = images[i, 0].data<byte>().ToArray();
                files.Add(TestImages.Write(dir.File($"img{i:00}.png"), 28, 28, (x, y) => new SKColor(pixels[y * 28 + x], pixels[y * 28 + x], pixels[y * 28 + x]), gray: true));
            }
            var r = CliRunner.Run(["predict", "--model", modelDir, "--engine", "torch", "--top", "10", "--json", .. files]);
            Assert.True(r.ExitCode == 0, r.Stderr);
            using var json = JsonDocument.Parse(r.Stdout);
            var predictions = json.RootElement.GetProperty("predictions").EnumerateArray().ToList();
            Assert.Equal(12, predictions.Count);
            for (var i = 0; i < 12; i++)
            {
                var row = logits.AsSpan(i * 10, 10).ToArray();
                var expected = FashionMnist.ClassNames[Array.IndexOf(row, row.Max())];
                Assert.Equal(files[i], predictions[i].GetProperty("input").GetString());
                Assert.Equal(expected, predictions[i].GetProperty("class").GetString());
                var top = predictions[i].GetProperty("top").EnumerateArray()
                    .ToDictionary(t => t.GetProperty("class").GetString()!, t => t.GetProperty("probability").GetDouble());
                Assert.Equal(1.0, top.Values.Sum(), 1e-9);
                // Each class's probability is the softmax of the model's logits for this very image.
                var exp = row.Select(v => Math.Exp(v)).ToArray();
                for (var k = 0; k < 10; k++)
                    Assert.Equal(exp[k] / exp.Sum(), top[FashionMnist.ClassNames[k]], 1e-5);
            }
            // Twelve different images give twelve different probability vectors (a predictor that
            // answered every input alike, or the first input for all, would fail here).
            var vectors = predictions.Select(p => string.Join(",", p.GetProperty("top").EnumerateArray()
                .OrderBy(t => t.GetProperty("class").GetString(), StringComparer.Ordinal).Select(t => t.GetProperty("probability").GetDouble().ToString("R"))));
            Assert.Equal(12, vectors.Distinct().Count());
        }
    }

    [Fact]
    public void Predict_OnANonImageFile_IsExitCode2NamingIt()
    {
        using var dir = new TempDir();
        var description = new ModelDescription
        {
            Architecture = "cnn", Head = "linear", InputKind = InputKind.Image, InputShape = [1, 28, 28],
            ClassNames = FashionMnist.ClassNames, Normalization = new InputNormalization([0.5], [0.5], 1 / 255.0),
        };
        using (var bundle = new ModelBundle(description, Architectures.Create(description)))
            bundle.Save(dir.File("model"));
        var bogus = dir.File("notes.png");
        File.WriteAllText(bogus, "not an image");
        var r = CliRunner.Run("predict", "--model", dir.File("model"), bogus, "--json");
        Assert.Equal(2, r.ExitCode);
        Assert.Contains("notes.png", r.Stderr);
        Assert.DoesNotContain("   at ", r.Stderr);
    }
}

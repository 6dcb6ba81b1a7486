using Protea.Mil;
using Protea.Tests.Support;
using SkiaSharp;

namespace Protea.Tests.Mil;

/// <summary>make-bags, train-bags and predict on a bag model end to end, and bad input as one-line errors with exit 2.</summary>
public sealed class BagCliTests
{
    private static void TinyBags(string dir, int width = 56, int height = 56)
    {
        foreach (var (cls, value) in new[] { ("negative", 60), ("positive", 220) })
            for (var i = 0; i < 3; i++)
                TestImages.Write(Path.Combine(dir, cls, $"{i}.png"), width, height,
                    (x, y) => x < 28 && y < 28 ? new SKColor((byte)value, (byte)value, (byte)value) : new SKColor(30, 30, 30), gray: true);
    }

    [Fact]
    public void Train_predict_and_export_a_bag_model()
    {
        using var dir = new TempDir();
        var data = dir.File("bags");
        TinyBags(data);
        var model = dir.File("model");
        var train = CliRunner.Run("train-bags", "--data", data, "--out", model, "--patch", "28", "--epochs", "2", "--threads", "1", "--json");
        Assert.True(train.ExitCode == 0, train.Stderr);
        Assert.True(MilModel.IsBagModel(model));
        var image = Path.Combine(data, "positive", "0.png");
        var torch = CliRunner.Run("predict", "--model", model, "--engine", "torch", "--json", image);
        Assert.True(torch.ExitCode == 0, torch.Stderr);
        var export = CliRunner.Run("export", "--model", model);
        Assert.True(export.ExitCode == 0, export.Stderr);
        var onnx = CliRunner.Run("predict", "--model", model, "--json", image);
        Assert.True(onnx.ExitCode == 0, onnx.Stderr);
        var t = System.Text.Json.JsonDocument.Parse(torch.Stdout).RootElement;
        var o = System.Text.Json.JsonDocument.Parse(onnx.Stdout).RootElement;
        Assert.Equal("onnx", o.GetProperty("engine").GetString());
        var tp = t.GetProperty("predictions")[0];
        var op = o.GetProperty("predictions")[0];
        Assert.Equal(tp.GetProperty("probability").GetDouble(), op.GetProperty("probability").GetDouble(), 1e-4);
        var patches = tp.GetProperty("patches");
        Assert.Equal(4, patches.GetArrayLength()); // a 56x56 image has four 28x28 patches
        var boxes = patches.EnumerateArray().Select(p => (p.GetProperty("x").GetInt32(), p.GetProperty("y").GetInt32())).Order().ToArray();
        Assert.Equal([(0, 0), (0, 28), (28, 0), (28, 28)], boxes);
        Assert.Equal(1.0, patches.EnumerateArray().Sum(p => p.GetProperty("weight").GetDouble()), 1e-5);

        // The attention map: one PNG of the image's size.
        using var predictor = BagPredictor.Open(model, Protea.Deploy.EngineChoice.Torch);
        var prediction = predictor.Predict(image, topPatches: 2);
        var png = dir.File("map.png");
        AttentionMap.Save(image, prediction, png);
        using var map = SKBitmap.Decode(png);
        Assert.Equal((56, 56), (map.Width, map.Height));
        Assert.Equal(56 * 56, AttentionMap.Attribution(prediction).Length);

        // `protea explain` on a bag model: attention; its top patches are the predictor's, its map the
        // strongest weight over each pixel scaled to the largest (checked by hand on one patch).
        var explained = CliRunner.Run("explain", "--model", model, "--json", "--out", dir.File("explained"), image);
        Assert.True(explained.ExitCode == 0, explained.Stderr);
        var line = System.Text.Json.JsonDocument.Parse(explained.Stdout).RootElement.GetProperty("explanations")[0];
        var top = line.GetProperty("top_patches");
        var full = predictor.Predict(image, topPatches: 5);
        Assert.Equal(full.TopPatches.Count, top.GetArrayLength());
        var best = full.TopPatches[0];
        Assert.Equal(best.Box.X, top[0].GetProperty("box").GetProperty("x").GetInt32());
        var rows = line.GetProperty("map");
        Assert.Equal(56, rows.GetArrayLength());
        Assert.Equal(1.0, rows[best.Box.Y][best.Box.X].GetDouble(), 1e-6);
        Assert.True(File.Exists(line.GetProperty("overlay").GetString()));
        var wrong = CliRunner.Run("explain", "--model", model, "--method", "ig", image);
        Assert.Equal(2, wrong.ExitCode);
        Assert.Single(wrong.Stderr.Trim().Split('\n'));
    }

    [Fact]
    public void A_patch_larger_than_the_images_is_one_line_exit_2()
    {
        using var dir = new TempDir();
        TinyBags(dir.File("bags"));
        var r = CliRunner.Run("train-bags", "--data", dir.File("bags"), "--out", dir.File("m"), "--patch", "64");
        Assert.Equal(2, r.ExitCode);
        Assert.Single(r.Stderr.TrimEnd().Split('\n'));
        Assert.Contains("patch size 64 px is larger than the image (56x56 px)", r.Stderr);
        Assert.Contains("--patch", r.Stderr);
    }

    [Fact]
    public void An_empty_bag_after_background_removal_is_one_line_exit_2()
    {
        using var dir = new TempDir();
        TinyBags(dir.File("bags"));
        var r = CliRunner.Run("train-bags", "--data", dir.File("bags"), "--out", dir.File("m"), "--patch", "28", "--background", "dark:0.95");
        Assert.Equal(2, r.ExitCode);
        Assert.Single(r.Stderr.TrimEnd().Split('\n'));
        Assert.Contains("every patch is background", r.Stderr);
    }

    [Fact]
    public void A_non_image_is_one_line_exit_2()
    {
        using var dir = new TempDir();
        TinyBags(dir.File("bags"));
        File.WriteAllText(Path.Combine(dir.File("bags"), "positive", "notes.png"), "not an image");
        var r = CliRunner.Run("train-bags", "--data", dir.File("bags"), "--out", dir.File("m"), "--patch", "28");
        Assert.Equal(2, r.ExitCode);
        Assert.Single(r.Stderr.TrimEnd().Split('\n'));
        Assert.Contains("notes.png: not a PNG or JPEG image", r.Stderr);
    }

    [Fact]
    public void Make_bags_refuses_an_unknown_target()
    {
        using var dir = new TempDir();
        var r = CliRunner.Run("make-bags", "--target", "Hat", "--out", dir.File("b"));
        Assert.Equal(2, r.ExitCode);
        Assert.Contains("target class 'Hat' is not a Fashion-MNIST class", r.Stderr);
        Assert.Contains("--target", r.Stderr);
    }
}

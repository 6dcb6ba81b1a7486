using System.Text.Json;
using Protea.Tests.Support;
using SkiaSharp;

namespace Protea.Tests.Explanations;

/// <summary>`protea explain` as a user runs it: overlays and arrays, the evaluation tables, and one-line errors with exit 2.</summary>
public sealed class ExplainCliTests : IDisposable
{
    private readonly TempDir dir = new();
    private readonly string model;

    public ExplainCliTests()
    {
        model = Path.Combine(dir.Path, "cnn");
        ExplanationModels.Save(model);
    }

    public void Dispose() => dir.Dispose();

    private string Image(string name, int size = 28, bool gray = true) =>
        TestImages.Write(dir.File(name), size, size, (x, y) => new SKColor((byte)(x * 9), (byte)(y * 9), (byte)((x + y) * 4)), gray);

    private static void AssertOneLineError(CliRunner.Result r, string expected)
    {
        Assert.Equal(2, r.ExitCode);
        Assert.Contains(expected, r.Stderr);
        Assert.Single(r.Stderr.Trim().Split('\n'));
        Assert.DoesNotContain("   at ", r.Stderr);
    }

    [Fact]
    public void ExplainsAFileAsAnOverlayAndAnArray()
    {
        var out_ = dir.File("out");
        var r = CliRunner.Run("explain", "--model", model, Image("shoe.png"), "--method", "gradcampp", "--class", "Bag", "--out", out_, "--json");
        Assert.True(r.ExitCode == 0, r.Stderr);
        using var json = JsonDocument.Parse(r.Stdout);
        var e = json.RootElement.GetProperty("explanations")[0];
        Assert.Equal("gradcampp", e.GetProperty("method").GetString());
        Assert.Equal("Bag", e.GetProperty("class_name").GetString());
        Assert.True(e.GetProperty("class_given").GetBoolean());
        Assert.Equal(28, e.GetProperty("map").GetArrayLength());
        Assert.Equal(28, e.GetProperty("map")[0].GetArrayLength());
        var overlay = e.GetProperty("overlay").GetString()!;
        using var png = SKBitmap.Decode(overlay);
        Assert.True(png.Width > 3 * 28 && png.Height > 28);
    }

    [Fact]
    public void EvaluatePrintsOneRowPerMethodAndDrawsTheCurves()
    {
        var out_ = dir.File("eval");
        var r = CliRunner.Run("explain", "--model", model, "--evaluate", "--sanity", "--data", "fashion-mnist", "--count", "4",
            "--methods", "gradcam,random", "--steps", "4", "--out", out_, "--json");
        Assert.True(r.ExitCode == 0, r.Stderr);
        using var json = JsonDocument.Parse(r.Stdout);
        var rows = json.RootElement.GetProperty("faithfulness").GetProperty("methods");
        Assert.Equal(["gradcam", "random"], rows.EnumerateArray().Select(m => m.GetProperty("method").GetString()));
        Assert.All(rows.EnumerateArray(), m => Assert.Equal(5, m.GetProperty("deletion_curve").GetArrayLength()));
        Assert.True(File.Exists(Path.Combine(out_, "faithfulness.png")));
        var sanity = json.RootElement.GetProperty("sanity").GetProperty("methods");
        Assert.Equal(6, sanity[0].GetProperty("spearman").GetArrayLength());
    }

    [Fact]
    public void AnUnknownMethodIsOneLineAndExit2()
    {
        var r = CliRunner.Run("explain", "--model", model, Image("a.png"), "--method", "lime");
        AssertOneLineError(r, "--method: explanation method 'lime' is not known; known: gradcam, gradcampp, gradient");
    }

    [Fact]
    public void AnImageOfAnotherSizeIsOneLineAndExit2() =>
        AssertOneLineError(CliRunner.Run("explain", "--model", model, Image("big.png", size: 32)), "big.png: the image is 32x32, the model takes 28x28");

    [Fact]
    public void AnImageOfAnotherChannelCountIsOneLineAndExit2() =>
        AssertOneLineError(CliRunner.Run("explain", "--model", model, Image("rgb.png", gray: false)), "rgb.png: a colour image, the model takes grayscale");

    [Fact]
    public void AnEmptyFileIsOneLineAndExit2()
    {
        var empty = dir.File("empty.png");
        File.WriteAllBytes(empty, []);
        AssertOneLineError(CliRunner.Run("explain", "--model", model, empty), "empty.png: empty file");
    }

    [Fact]
    public void AnUnknownLayerIsOneLineAndExit2() =>
        AssertOneLineError(CliRunner.Run("explain", "--model", model, Image("a.png"), "--layer", "backbone.block9.conv"),
            "--layer: layer 'backbone.block9.conv' is not a convolution of this cnn; known: features, backbone.block1.conv");

    [Fact]
    public void ATableModelIsRefusedOneLineAndExit2()
    {
        var mlp = Path.Combine(dir.Path, "mlp");
        ExplanationModels.Save(mlp, "mlp", [4], classes: 3);
        AssertOneLineError(CliRunner.Run("explain", "--model", mlp, Image("a.png")), "--model: saliency is for image models; this model (mlp) takes tabular input");
    }
}

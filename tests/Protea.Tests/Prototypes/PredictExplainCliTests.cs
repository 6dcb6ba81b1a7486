using System.Text.Json;
using Protea.Data;
using Protea.Models;
using Protea.Tests.Support;
using SkiaSharp;

namespace Protea.Tests.Prototypes;

/// <summary>`protea predict --explain`: the prototypes behind each decision, in text and JSON; bad input is a one-line error, exit 2.</summary>
public sealed class PredictExplainCliTests
{
    private static string SaveModel(TempDir dir, string head)
    {
        using var data = Shapes.Make(4, seed: 3);
        var description = new ModelDescription
        {
            Architecture = "cnn", Head = head, InputKind = InputKind.Image, InputShape = [1, 12, 12],
            ClassNames = data.ClassNames, Normalization = InputNormalization.Fit(data.Inputs),
        };
        var path = dir.File(head);
        using var bundle = new ModelBundle(description, Architectures.Create(description));
        bundle.Save(path);
        return path;
    }

    [Fact]
    public void PredictExplain_ListsTopPrototypes_TextAndJson()
    {
        using var dir = new TempDir();
        var model = SaveModel(dir, "parts");
        var image = TestImages.Write(dir.File("a.png"), 12, 12, (x, y) => x > 4 && x < 8 && y > 4 && y < 8 ? SKColors.White : SKColors.Black, gray: true);
        var r = CliRunner.Run("predict", "--model", model, "--engine", "torch", "--explain", "--json", image);
        Assert.Equal(0, r.ExitCode);
        using var doc = JsonDocument.Parse(r.Stdout);
        var evidence = doc.RootElement.GetProperty("predictions")[0].GetProperty("evidence");
        Assert.Equal(3, evidence.GetArrayLength());
        var contributions = evidence.EnumerateArray().Select(e => e.GetProperty("contribution").GetDouble()).ToArray();
        Assert.Equal(contributions.OrderByDescending(c => c), contributions);
        var text = CliRunner.Run("predict", "--model", model, "--engine", "torch", "--explain", image);
        Assert.Equal(0, text.ExitCode);
        Assert.Contains("looks like prototype", text.Stdout);
    }

    [Fact]
    public void PredictExplain_OfAModelWithoutPrototypes_OrAnEmptyFile_IsAOneLineError()
    {
        using var dir = new TempDir();
        var image = TestImages.Write(dir.File("a.png"), 12, 12, (_, _) => SKColors.Gray, gray: true);
        var r = CliRunner.Run("predict", "--model", SaveModel(dir, "linear"), "--explain", image);
        Assert.Equal(2, r.ExitCode);
        Assert.Contains("no prototypes", r.Stderr);
        Assert.Single(r.Stderr.Trim().Split('\n'));

        var empty = dir.File("empty.png");
        File.WriteAllBytes(empty, []);
        var e = CliRunner.Run("predict", "--model", SaveModel(dir, "parts"), "--explain", empty);
        Assert.Equal(2, e.ExitCode);
        Assert.Contains("empty.png", e.Stderr);
        Assert.Single(e.Stderr.Trim().Split('\n'));
    }
}

using System.Text.Json;
using Protea.Models;
using Protea.Tests.Support;

namespace Protea.Tests.Cli;

/// <summary>--id and --classes on train and eval: passed to the data spec, errors shown with the flag to change.</summary>
public sealed class DataOptionsCliTests
{
    /// <summary>Three separable classes, ids in class order (a leak if they were a feature).</summary>
    private static string ThreeClassCsv(TempDir dir)
    {
        var path = dir.File("points.csv");
        string[] names = ["north", "east", "south"];
        var rows = Enumerable.Range(0, 30).Select(i => $"{1000 + i},{(i % 3 == 1 ? 3 : 0) + 0.01 * i},{(i % 3 == 0 ? 3 : i % 3 == 2 ? -3 : 0)},{names[i % 3]}");
        File.WriteAllLines(path, ["sample,x,y,region", .. rows]);
        return path;
    }

    [Fact]
    public void TrainAndEval_WithIdAndClasses()
    {
        using var dir = new TempDir();
        var csv = ThreeClassCsv(dir);
        var model = dir.File("model");
        var train = CliRunner.Run("train", "--data", csv, "--label", "region", "--id", "sample", "--classes", "north,south",
            "--arch", "mlp", "--epochs", "2", "--batch-size", "8", "--validation", "0", "--out", model, "--json", "--threads", "1");
        Assert.True(train.ExitCode == 0, train.Stderr);
        var description = ModelBundle.ReadDescription(model);
        Assert.Equal(["x", "y"], description.FeatureNames);
        Assert.Equal(["north", "south"], description.ClassNames); // class list order: east, north, south minus east

        var eval = CliRunner.Run("eval", "--model", model, "--data", csv, "--label", "region", "--id", "sample", "--classes", "1-2",
            "--engine", "torch", "--json");
        Assert.True(eval.ExitCode == 0, eval.Stderr);
        using var json = JsonDocument.Parse(eval.Stdout);
        Assert.Equal(20, json.RootElement.GetProperty("count").GetInt32());
    }

    [Fact]
    public void BadClassesOrId_AreOneLineErrorsNamingTheFlag()
    {
        using var dir = new TempDir();
        var csv = ThreeClassCsv(dir);
        var r = CliRunner.Run("train", "--data", csv, "--classes", "north,west", "--out", dir.File("run"), "--json");
        Assert.Equal(2, r.ExitCode);
        Assert.Equal("protea: --classes: class 'west' is not a class of the data; classes: 0 east, 1 north, 2 south", r.Stderr.TrimEnd());
        r = CliRunner.Run("train", "--data", csv, "--id", "key", "--out", dir.File("run"), "--json");
        Assert.Equal(2, r.ExitCode);
        Assert.StartsWith("protea: --id: ", r.Stderr);
        Assert.Contains("no column 'key' for the ids", r.Stderr);
        Assert.False(Directory.Exists(dir.File("run")));
    }

    [Fact]
    public void ModelThatTookIdAsAFeature_StillEvaluatesAndPredicts()
    {
        // Models trained before id columns were recognised took a column called id as a feature; `--id ""` trains one.
        using var dir = new TempDir();
        var csv = dir.File("old.csv");
        File.WriteAllLines(csv, ["id,x,label", .. Enumerable.Range(0, 12).Select(i => $"{i},{(i < 6 ? -1 : 1) + 0.01 * i},{(i < 6 ? "a" : "b")}")]);
        var model = dir.File("model");
        var train = CliRunner.Run("train", "--data", csv, "--id", "", "--arch", "mlp", "--epochs", "1", "--batch-size", "4",
            "--validation", "0", "--out", model, "--json", "--threads", "1");
        Assert.True(train.ExitCode == 0, train.Stderr);
        Assert.Equal(["id", "x"], ModelBundle.ReadDescription(model).FeatureNames);

        var eval = CliRunner.Run("eval", "--model", model, "--data", csv, "--engine", "torch", "--json");
        Assert.True(eval.ExitCode == 0, eval.Stderr);
        var predict = CliRunner.Run("predict", "--model", model, csv, "--engine", "torch", "--json");
        Assert.True(predict.ExitCode == 0, predict.Stderr);
        using var json = JsonDocument.Parse(predict.Stdout);
        Assert.Equal(12, json.RootElement.GetProperty("predictions").GetArrayLength());
    }
}

using System.Text.Json;
using Protea.Tests.Support;

namespace Protea.Tests.Cli;

/// <summary>The CLI contract: exit codes 0 / 2 / 1, one JSON object with --json, one-line errors without stack traces.</summary>
public sealed class CliTests : IClassFixture<CliTests.IrisRun>
{
    private readonly IrisRun iris;

    public CliTests(IrisRun iris) => this.iris = iris;

    /// <summary>One small tabular model trained once for the class: Fisher's iris, shipped with the tests (Data/iris.csv).</summary>
    public sealed class IrisRun : IDisposable
    {
        public TempDir Dir { get; } = new();
        public string Csv => Dir.File("iris.csv");
        public string Model => Dir.File("model");
        public CliRunner.Result Train { get; }

        public IrisRun()
        {
            File.Copy(TestData.IrisCsv, Csv);
            Train = CliRunner.Run("train", "--data", Csv, "--label", "species", "--arch", "mlp", "--epochs", "60",
                "--batch-size", "16", "--lr", "0.05", "--validation", "0.2", "--out", Model, "--json", "--threads", "2");
        }

        public void Dispose() => Dir.Dispose();
    }

    private static JsonElement SingleJsonObject(string stdout)
    {
        using var doc = JsonDocument.Parse(stdout); // throws if there is anything but one JSON value
        Assert.Equal(JsonValueKind.Object, doc.RootElement.ValueKind);
        return doc.RootElement.Clone();
    }

    private static void AssertOneLineError(CliRunner.Result r, int code, params string[] contains)
    {
        Assert.Equal(code, r.ExitCode);
        Assert.Equal("", r.Stdout);
        var lines = r.Stderr.TrimEnd().Split('\n');
        Assert.Single(lines);
        Assert.DoesNotContain("   at ", r.Stderr);
        foreach (var c in contains) Assert.Contains(c, r.Stderr);
    }

    [Fact]
    public void Train_Json_PrintsOneObjectAndWritesTheRunFolder()
    {
        Assert.True(iris.Train.ExitCode == 0, iris.Train.Stderr);
        var json = SingleJsonObject(iris.Train.Stdout);
        Assert.Equal("validation", json.GetProperty("evaluated_on").GetString());
        Assert.True(json.GetProperty("metrics").GetProperty("accuracy").GetDouble() > 0.8);
        foreach (var f in new[] { "model.safetensors", "model.json", "metrics.json", "confusion.png", "curves.png", "report.md" })
            Assert.True(File.Exists(Path.Combine(iris.Model, f)), f);
        Assert.Empty(Directory.GetFiles(iris.Model, "*.tmp"));
    }

    [Fact]
    public void Eval_Json_HasTheDocumentedFields()
    {
        var r = CliRunner.Run("eval", "--model", iris.Model, "--data", iris.Csv, "--label", "species", "--engine", "torch", "--json");
        Assert.True(r.ExitCode == 0, r.Stderr);
        var json = SingleJsonObject(r.Stdout);
        foreach (var field in new[] { "accuracy", "top5_accuracy", "ece", "per_class", "confusion" })
            Assert.True(json.TryGetProperty(field, out _), field);
        Assert.Equal(150, json.GetProperty("count").GetInt32());
        Assert.Equal(3, json.GetProperty("per_class").GetArrayLength());
        Assert.Equal(150, json.GetProperty("confusion").EnumerateArray().SelectMany(row => row.EnumerateArray()).Sum(c => c.GetInt64()));
        Assert.True(json.GetProperty("accuracy").GetDouble() > 0.8);
    }

    [Fact]
    public void Predict_Json_ListsTopClassesWithProbabilitiesSummingBelowOne()
    {
        var r = CliRunner.Run("predict", "--model", iris.Model, iris.Csv, "--top", "2", "--engine", "torch", "--json");
        Assert.True(r.ExitCode == 0, r.Stderr);
        var predictions = SingleJsonObject(r.Stdout).GetProperty("predictions");
        Assert.Equal(150, predictions.GetArrayLength());
        var first = predictions[0];
        Assert.Equal("setosa", first.GetProperty("class").GetString()); // row 2 of iris is a clear setosa
        var top = first.GetProperty("top").EnumerateArray().Select(t => t.GetProperty("probability").GetDouble()).ToArray();
        Assert.Equal(2, top.Length);
        Assert.True(top[0] >= top[1] && top.Sum() <= 1.0 + 1e-9);
    }

    [Fact]
    public void Help_ShowsExamples()
    {
        var r = CliRunner.Run("train", "--help");
        Assert.Equal(0, r.ExitCode);
        Assert.Contains("Examples:", r.Stdout);
        Assert.Contains("--data", r.Stdout);
    }

    [Fact]
    public void UnknownOption_IsExitCode2WithOneLine() =>
        AssertOneLineError(CliRunner.Run("train", "--data", "fashion-mnist", "--out", "x", "--bogus"), 2, "--bogus");

    [Fact]
    public void MissingModel_IsExitCode2NamingTheFolder()
    {
        using var dir = new TempDir();
        AssertOneLineError(CliRunner.Run("eval", "--model", dir.File("nope"), "--data", "fashion-mnist", "--json"), 2, "nope");
    }

    [Fact]
    public void BadCsvCell_IsExitCode2NamingRowAndColumn()
    {
        using var dir = new TempDir();
        var csv = dir.File("bad.csv");
        File.WriteAllLines(csv, ["a,b,label", "1,2,x", "3,oops,y", "5,6,x"]);
        AssertOneLineError(CliRunner.Run("train", "--data", csv, "--out", dir.File("run"), "--json"), 2, "bad.csv", "row 3", "'b'");
        Assert.False(Directory.Exists(dir.File("run")));
    }

    [Fact]
    public void UnknownEngine_AndUnknownFormat_AreExitCode2()
    {
        AssertOneLineError(CliRunner.Run("eval", "--model", iris.Model, "--data", iris.Csv, "--engine", "tensorrt"), 2, "--engine: ", "tensorrt");
        AssertOneLineError(CliRunner.Run("export", "--model", iris.Model, "--format", "tflite"), 2, "tflite");
    }

    [Fact]
    public void CorruptWeights_IsExitCode2()
    {
        using var dir = new TempDir();
        var copy = dir.File("model");
        Directory.CreateDirectory(copy);
        File.Copy(Path.Combine(iris.Model, "model.json"), Path.Combine(copy, "model.json"));
        File.WriteAllBytes(Path.Combine(copy, "model.safetensors"), [1, 2, 3]);
        AssertOneLineError(CliRunner.Run("eval", "--model", copy, "--data", iris.Csv, "--engine", "torch"), 2, "model.safetensors");
    }

    [Fact]
    public void ExportElsewhere_IsNotServedAsTheModelFoldersExport()
    {
        using var dir = new TempDir();
        var onnx = dir.File("iris.onnx");
        var export = CliRunner.Run("export", "--model", iris.Model, "--format", "onnx", "--out", onnx, "--json");
        Assert.True(export.ExitCode == 0, export.Stderr);
        Assert.Equal(onnx, SingleJsonObject(export.Stdout).GetProperty("path").GetString());
        Assert.True(new FileInfo(onnx).Length > 0);
        AssertOneLineError(CliRunner.Run("eval", "--model", iris.Model, "--data", iris.Csv, "--engine", "onnx", "--json"), 2, "export");
    }

    [Fact]
    public void ExportIntoTheModelFolder_OnnxAndTorchEnginesPredictTheSame()
    {
        using var dir = new TempDir();
        var model = dir.File("model");
        Directory.CreateDirectory(model);
        foreach (var f in new[] { "model.json", "model.safetensors" })
            File.Copy(Path.Combine(iris.Model, f), Path.Combine(model, f));
        Assert.Equal(0, CliRunner.Run("export", "--model", model, "--format", "onnx").ExitCode);
        var torch = SingleJsonObject(CliRunner.Run("predict", "--model", model, iris.Csv, "--engine", "torch", "--json").Stdout);
        var auto = SingleJsonObject(CliRunner.Run("predict", "--model", model, iris.Csv, "--json").Stdout);
        Assert.Equal("onnx", auto.GetProperty("engine").GetString());
        var a = torch.GetProperty("predictions").EnumerateArray().Select(p => p.GetProperty("class").GetString()).ToList();
        var b = auto.GetProperty("predictions").EnumerateArray().Select(p => p.GetProperty("class").GetString()).ToList();
        Assert.Equal(a, b);
    }
}

using System.Text.Json;
using Protea.Models;
using Protea.Tests.Support;

namespace Protea.Tests.Discovery;

public sealed class UnknownCliTests
{
    [Fact]
    public void Calibrate_then_predict_reports_unknown_flags_as_text_and_json()
    {
        using var dir = new TempDir();
        var model = UnknownCalibrationTests.IrisModel(dir);
        var r = CliRunner.Run("calibrate-unknown", "--model", model, "--data", TestData.IrisCsv, "--label", "species", "--scorer", "mahalanobis", "--json", "--threads", "1");
        Assert.True(r.ExitCode == 0, r.Stderr);
        using (var json = JsonDocument.Parse(r.Stdout))
        {
            Assert.Equal("mahalanobis", json.RootElement.GetProperty("scorer").GetString());
            Assert.True(json.RootElement.GetProperty("known_kept").GetDouble() >= 0.95);
        }
        Assert.Equal("mahalanobis", ModelBundle.ReadDescription(model).Unknown!.Scorer);

        var far = dir.File("far.csv");
        File.WriteAllLines(far, ["sepal_length,sepal_width,petal_length,petal_width,species", "5.1,3.5,1.4,0.2,setosa", "60,-40,90,70,setosa"]);
        foreach (var engine in new[] { "torch", "onnx" })
        {
            var p = CliRunner.Run("predict", "--model", model, "--engine", engine, "--json", "--threads", "1", far);
            Assert.True(p.ExitCode == 0, p.Stderr);
            using var json = JsonDocument.Parse(p.Stdout);
            var predictions = json.RootElement.GetProperty("predictions").EnumerateArray().ToList();
            Assert.False(predictions[0].GetProperty("unknown").GetBoolean());
            Assert.True(predictions[1].GetProperty("unknown").GetBoolean());
            Assert.True(predictions[1].GetProperty("unknown_score").GetDouble() > predictions[0].GetProperty("unknown_score").GetDouble());
            var text = CliRunner.Run("predict", "--model", model, "--engine", engine, "--threads", "1", far);
            var lines = text.Stdout.Trim().Split('\n');
            Assert.Contains("unknown: false (score", lines[0]);
            Assert.Contains("unknown: true (score", lines[1]);
        }
    }

    [Fact]
    public void A_bad_scorer_name_is_a_one_line_error_naming_the_known_scorers()
    {
        using var dir = new TempDir();
        var model = UnknownCalibrationTests.IrisModel(dir);
        var r = CliRunner.Run("calibrate-unknown", "--model", model, "--data", TestData.IrisCsv, "--label", "species", "--scorer", "odin");
        Assert.Equal(2, r.ExitCode);
        Assert.Equal("protea: --scorer: unknown scorer 'odin' is not known; known: msp, max-logit, energy, mahalanobis, knn, prototype", r.Stderr.Trim());
        Assert.Null(ModelBundle.ReadDescription(model).Unknown);
    }

    [Fact]
    public void Unknown_reports_every_scorer_as_one_json_object_and_writes_the_histograms()
    {
        using var dir = new TempDir();
        var model = UnknownCalibrationTests.IrisModel(dir);
        var outDir = dir.File("ood");
        var r = CliRunner.Run("unknown", "--model", model, "--known", TestData.IrisCsv, "--known-classes", "setosa,versicolor",
            "--unknown", TestData.IrisCsv, "--unknown-classes", "virginica", "--label", "species", "--k", "5", "--out", outDir, "--json", "--threads", "1");
        Assert.True(r.ExitCode == 0, r.Stderr);
        using var json = JsonDocument.Parse(r.Stdout);
        var scorers = json.RootElement.GetProperty("scorers").EnumerateArray().ToList();
        Assert.Equal(["msp", "max-logit", "energy", "mahalanobis", "knn", "prototype"], scorers.Select(s => s.GetProperty("scorer").GetString()));
        foreach (var s in scorers)
            foreach (var metric in new[] { "auroc", "aupr_in", "aupr_out", "fpr_at95_tpr" })
                Assert.InRange(s.GetProperty(metric).GetDouble(), 0, 1);
        Assert.Equal(50, json.RootElement.GetProperty("unknown_examples").GetInt32());
        var png = File.ReadAllBytes(Path.Combine(outDir, "unknown-scores.png"));
        Assert.Equal(0x89, png[0]);
        Assert.True(File.Exists(Path.Combine(outDir, "unknown.json")));

        var bad = CliRunner.Run("unknown", "--model", model, "--known", TestData.IrisCsv, "--unknown", dir.File("nope.csv"), "--label", "species");
        Assert.Equal(2, bad.ExitCode);
        Assert.StartsWith("protea: --unknown: ", bad.Stderr);
        Assert.Single(bad.Stderr.Trim().Split('\n'));
    }
}

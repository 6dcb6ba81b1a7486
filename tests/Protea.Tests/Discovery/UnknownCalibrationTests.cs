using System.Text.Json;
using Protea.Data;
using Protea.Deploy;
using Protea.Discovery;
using Protea.Models;
using Protea.Predictions;
using Protea.Tests.Support;
using static TorchSharp.torch;

namespace Protea.Tests.Discovery;

public sealed class UnknownCalibrationTests
{
    private static readonly string[] IrisFeatures = ["sepal_length", "sepal_width", "petal_length", "petal_width"];

    /// <summary>A seeded, untrained iris MLP saved in DIR/model, exported to ONNX beside it.</summary>
    internal static string IrisModel(TempDir dir)
    {
        manual_seed(12);
        var description = new ModelDescription
        {
            Architecture = "mlp", Head = "linear", InputKind = InputKind.Tabular, InputShape = [4],
            ClassNames = ["setosa", "versicolor", "virginica"], FeatureNames = IrisFeatures, LabelColumn = "species",
            Normalization = new InputNormalization([5.8, 3.1, 3.8, 1.2], [0.8, 0.4, 1.8, 0.8], 1),
        };
        using var bundle = new ModelBundle(description, Architectures.Create(description));
        var path = dir.File("model");
        bundle.Save(path);
        OnnxExporter.Export(path);
        return path;
    }

    [Theory]
    [InlineData("mahalanobis")]
    [InlineData("knn")]
    [InlineData("prototype")]
    [InlineData("energy")]
    public void Calibrated_threshold_survives_save_and_load_with_the_same_flags_on_torch_and_onnx(string scorer)
    {
        using var dir = new TempDir();
        var model = IrisModel(dir);
        var spec = DataSpec.Parse(TestData.IrisCsv, new DataSpecOptions { LabelColumn = "species" });
        var result = UnknownCalibration.Calibrate(model, spec, scorer, new UnknownScorerOptions { K = 5 }, EngineChoice.Torch);
        Assert.Equal(scorer, result.Scorer);
        Assert.Equal("validation", result.HeldOutSplit);
        Assert.True(result.KnownKept >= 0.95, $"{result.KnownKept}");

        // The ONNX export stays current (only model.json's unknown section changed), and both engines give the same flags.
        Assert.True(OnnxModelFile.IsCurrent(model));
        var description = ModelBundle.ReadDescription(model);
        Assert.Equal(scorer, description.Unknown!.Scorer);
        Assert.Equal(result.Threshold, description.Unknown.Threshold);
        Assert.Equal(scorer is "energy", !File.Exists(UnknownDetector.TensorsPath(model)));

        // Inputs: the iris rows and the same rows pushed far out, which must score higher.
        var rows = File.ReadAllLines(TestData.IrisCsv).Skip(1).Select(l => l.Split(',')[..4].Select(v => double.Parse(v, System.Globalization.CultureInfo.InvariantCulture)).ToArray()).ToList();
        var inputs = rows.Concat(rows.Select(r => r.Select(v => v * 4 + 10).ToArray())).Select(r => (IReadOnlyList<double>)r).ToList();
        using var torchPredictor = Predictor.Open(model, EngineChoice.Torch);
        using var onnxPredictor = Predictor.Open(model, EngineChoice.Onnx);
        var t = torchPredictor.PredictRows(IrisFeatures, inputs);
        var o = onnxPredictor.PredictRows(IrisFeatures, inputs);
        for (var i = 0; i < t.Count; i++)
        {
            Assert.Equal(t[i].UnknownScore!.Value > result.Threshold, t[i].IsUnknown);
            var tolerance = 1e-4 * Math.Max(1, Math.Abs(t[i].UnknownScore!.Value));
            Assert.Equal(t[i].UnknownScore!.Value, o[i].UnknownScore!.Value, tolerance);
            // The threshold is one held-out item's own torch score: float32 differences may move only such a borderline item.
            if (Math.Abs(t[i].UnknownScore!.Value - result.Threshold) > tolerance)
                Assert.Equal(t[i].IsUnknown, o[i].IsUnknown);
        }
        // On the iris rows themselves about 95 % are known (the threshold was set on a fifth of them).
        Assert.InRange(t.Take(rows.Count).Count(p => p.IsUnknown == false), (int)(0.85 * rows.Count), rows.Count);

        // The scores after load equal a scorer fitted afresh on the same data: the statistics were saved, not refitted.
        using var fresh = KnownData.Load(spec, description);
        using var engine = InferenceEngines.Open(model, EngineChoice.Torch);
        using var refit = UnknownScorers.Fit(scorer, InferenceEngines.RunAll(engine, fresh.Fit), fresh.FitLabels, new UnknownScorerOptions { K = 5 });
        using var batch = tensor(inputs.SelectMany(r => r.Select(v => (float)v)).ToArray(), [inputs.Count, 4]);
        var expected = refit.Score(InferenceEngines.RunAll(engine, batch));
        for (var i = 0; i < expected.Length; i++) Assert.Equal(expected[i], t[i].UnknownScore!.Value, 1e-9 * Math.Max(1, Math.Abs(expected[i])));
    }

    [Fact]
    public void A_model_without_an_unknown_section_predicts_without_flags_and_a_damaged_statistics_file_is_refused()
    {
        using var dir = new TempDir();
        var model = IrisModel(dir);
        using (var plain = Predictor.Open(model, EngineChoice.Torch))
        {
            var p = plain.PredictRows(IrisFeatures, [[5.1, 3.5, 1.4, 0.2]])[0];
            Assert.Null(p.UnknownScore);
            Assert.Null(p.IsUnknown);
        }
        Assert.DoesNotContain("\"unknown\"", File.ReadAllText(ModelBundle.DescriptionPath(model)));
        UnknownCalibration.Calibrate(model, DataSpec.Parse(TestData.IrisCsv, new DataSpecOptions { LabelColumn = "species" }), "knn", engine: EngineChoice.Torch);
        var path = UnknownDetector.TensorsPath(model);
        var bytes = File.ReadAllBytes(path);
        bytes[^1] ^= 0x40;
        File.WriteAllBytes(path, bytes);
        var e = Assert.Throws<ProteaException>(() => Predictor.Open(model, EngineChoice.Torch));
        Assert.Contains("SHA-256", e.Message);
    }
}

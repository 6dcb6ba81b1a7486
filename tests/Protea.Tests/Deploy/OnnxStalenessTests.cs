using System.Text.Json;
using System.Text.Json.Nodes;
using Protea.Deploy;
using Protea.Models;
using Protea.Tests.Support;
using static TorchSharp.torch;

namespace Protea.Tests.Deploy;

public sealed class OnnxStalenessTests
{
    private static string SmallModel(TempDir dir, out Tensor images)
    {
        var (x, k) = DeployModels.Data("cnn", null, 16);
        images = x;
        using var bundle = DeployModels.Build("cnn", null, "linear", x, k, seed: 3);
        bundle.Save(dir.Path);
        return dir.Path;
    }

    private static string Missing(string modelDir) =>
        $"{Path.Combine(modelDir, "model.onnx")} is missing or older than the model; export the model to ONNX first, or use the torch engine";

    [Fact]
    public void WeightsRewrittenAfterExport_ExportIsStale_AutoPicksTorch_OnnxRefuses()
    {
        using var dir = new TempDir();
        var model = SmallModel(dir, out var images);
        using var _ = images;
        OnnxExporter.Export(model);
        using (var fresh = InferenceEngines.Open(model))
            Assert.Equal("onnx", fresh.Name);

        using (var bundle = ModelBundle.Load(model))
        {
            using (no_grad())
                bundle.Model.Head.named_parameters().Single(p => p.name == "bias").parameter.add_(1.0f);
            bundle.Save(model);
        }

        Assert.Equal(OnnxExportState.Stale, OnnxModelFile.State(model));
        Assert.False(OnnxModelFile.IsCurrent(model));
        using (var auto = InferenceEngines.Open(model))
            Assert.Equal("torch", auto.Name);
        var e = Assert.Throws<ProteaException>(() => InferenceEngines.Open(model, EngineChoice.Onnx));
        Assert.Equal(Missing(model), e.Message);
        Assert.Equal("engine", e.Field);

        OnnxExporter.Export(model);
        Assert.True(OnnxModelFile.IsCurrent(model));
    }

    [Fact]
    public void SameWeightsSavedAgain_ExportStaysCurrent()
    {
        using var dir = new TempDir();
        var model = SmallModel(dir, out var images);
        using var _ = images;
        OnnxExporter.Export(model);
        using (var bundle = ModelBundle.Load(model))
            bundle.Save(model);
        Assert.True(OnnxModelFile.IsCurrent(model));
    }

    [Fact]
    public void NormalizationEditedInModelJson_ExportIsStale()
    {
        using var dir = new TempDir();
        var model = SmallModel(dir, out var images);
        using var _ = images;
        OnnxExporter.Export(model);
        var json = JsonNode.Parse(File.ReadAllText(ModelBundle.DescriptionPath(model)))!;
        json["normalization"]!["std"]![0] = 0.5;
        File.WriteAllText(ModelBundle.DescriptionPath(model), json.ToJsonString());

        Assert.Equal(OnnxExportState.Stale, OnnxModelFile.State(model));
    }

    [Fact]
    public void NoExport_AutoPicksTorch_OnnxRefuses()
    {
        using var dir = new TempDir();
        var model = SmallModel(dir, out var images);
        using var _ = images;

        Assert.Equal(OnnxExportState.Missing, OnnxModelFile.State(model));
        using (var auto = InferenceEngines.Open(model))
            Assert.Equal("torch", auto.Name);
        Assert.Equal(Missing(model), Assert.Throws<ProteaException>(() => InferenceEngines.Open(model, EngineChoice.Onnx)).Message);
    }

    [Fact]
    public void ExportMetadata_RecordsWeightsHashAndClassNames()
    {
        using var dir = new TempDir();
        var model = SmallModel(dir, out var images);
        using var _ = images;
        var outPath = dir.File("elsewhere/exported.onnx");

        Assert.Equal(outPath, OnnxExporter.Export(model, outPath));

        var metadata = OnnxModelFile.ReadMetadata(outPath);
        var sha = Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(File.ReadAllBytes(ModelBundle.WeightsPath(model))));
        Assert.Equal(sha, metadata["weights_sha256"]);
        Assert.Equal(Enumerable.Range(0, 10).Select(i => $"class-{i}"), JsonSerializer.Deserialize<string[]>(metadata["class_names"]));
        Assert.Equal("[1,28,28]", metadata["input_shape"]);
        Assert.False(File.Exists(OnnxModelFile.PathIn(model)));
    }
}

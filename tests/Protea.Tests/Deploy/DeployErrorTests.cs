using System.Text.Json.Nodes;
using Protea.Deploy;
using Protea.Models;
using Protea.Tests.Support;
using static TorchSharp.torch;

namespace Protea.Tests.Deploy;

public sealed class DeployErrorTests
{
    private static string SmallModel(TempDir dir)
    {
        var (x, k) = DeployModels.Data("cnn", null, 8);
        using var _ = x;
        using var bundle = DeployModels.Build("cnn", null, "linear", x, k, seed: 3);
        bundle.Save(dir.Path);
        return dir.Path;
    }

    private static void AssertOneLine(ProteaException e, params string[] parts)
    {
        Assert.DoesNotContain('\n', e.Message);
        foreach (var p in parts) Assert.Contains(p, e.Message);
    }

    [Theory]
    [InlineData(EngineChoice.Auto)]
    [InlineData(EngineChoice.Torch)]
    [InlineData(EngineChoice.Onnx)]
    public void Open_MissingModelDir_SaysNoSuchDirectory(EngineChoice choice)
    {
        using var dir = new TempDir();
        var missing = dir.File("nope");
        var e = Assert.Throws<ProteaException>(() => InferenceEngines.Open(missing, choice));
        AssertOneLine(e, missing, "no such directory");
    }

    [Fact]
    public void Export_MissingModelDir_SaysNoSuchDirectory()
    {
        using var dir = new TempDir();
        var e = Assert.Throws<ProteaException>(() => OnnxExporter.Export(dir.File("nope")));
        AssertOneLine(e, dir.File("nope"), "no such directory");
    }

    [Fact]
    public void Export_MissingWeights_NamesTheWeightsFile()
    {
        using var dir = new TempDir();
        var model = SmallModel(dir);
        File.Delete(ModelBundle.WeightsPath(model));
        var e = Assert.Throws<ProteaException>(() => OnnxExporter.Export(model));
        AssertOneLine(e, ModelBundle.WeightsPath(model), "not found");
    }

    [Fact]
    public void Export_HeadWithoutOnnxSupport_SaysSo()
    {
        using var dir = new TempDir();
        var model = SmallModel(dir);
        var json = JsonNode.Parse(File.ReadAllText(ModelBundle.DescriptionPath(model)))!;
        SpatialMaxHead.Register();
        json["head"] = SpatialMaxHead.NoOnnxSpec.Name;
        File.WriteAllText(ModelBundle.DescriptionPath(model), json.ToJsonString());
        var e = Assert.Throws<ProteaException>(() => OnnxExporter.Export(model));
        AssertOneLine(e, $"head '{SpatialMaxHead.NoOnnxSpec.Name}' has no ONNX export yet");
        Assert.False(File.Exists(OnnxModelFile.PathIn(model)));
    }

    [Fact]
    public void Open_CorruptOnnxFile_OnnxRefusesWithOneLine_AutoFallsBackToTorch()
    {
        using var dir = new TempDir();
        var model = SmallModel(dir);
        OnnxExporter.Export(model);
        var onnx = OnnxModelFile.PathIn(model);
        var bytes = File.ReadAllBytes(onnx);
        File.WriteAllBytes(onnx, bytes[..(bytes.Length / 2)]);

        Assert.Equal(OnnxExportState.Unreadable, OnnxModelFile.State(model));
        var e = Assert.Throws<ProteaException>(() => InferenceEngines.Open(model, EngineChoice.Onnx));
        Assert.Equal($"{onnx}: not a valid ONNX file; export the model to ONNX again, or use the torch engine", e.Message);
        Assert.Equal("engine", e.Field);
        using var auto = InferenceEngines.Open(model);
        Assert.Equal("torch", auto.Name);
    }

    [Fact]
    public void OnnxEngine_GarbageFile_NamesFileInOneLine()
    {
        using var dir = new TempDir();
        var model = SmallModel(dir);
        var onnx = OnnxModelFile.PathIn(model);
        File.WriteAllText(onnx, "this is not a protobuf model\n");
        var e = Assert.Throws<ProteaException>(() => new OnnxEngine(onnx, ModelBundle.ReadDescription(model)));
        AssertOneLine(e, onnx, "not a valid ONNX model", "export the model to ONNX again");
    }

    [Fact]
    public void ReadMetadata_GarbageFile_NamesFileInOneLine()
    {
        using var dir = new TempDir();
        var path = dir.File("x.onnx");
        File.WriteAllBytes(path, [0x0A, 0xFF, 0xFF, 0x01]);
        var e = Assert.Throws<ProteaException>(() => OnnxModelFile.ReadMetadata(path));
        AssertOneLine(e, path, "not a valid ONNX file");
    }

    [Fact]
    public void OnnxEngine_ExportOfAnotherModel_RefusesMismatch()
    {
        using var dir = new TempDir();
        var model = SmallModel(dir);
        OnnxExporter.Export(model);
        var other = ModelBundle.ReadDescription(model) with { ClassNames = ["a", "b", "c"] };
        var e = Assert.Throws<ProteaException>(() => new OnnxEngine(OnnxModelFile.PathIn(model), other));
        AssertOneLine(e, "does not match", "\"logits\" [batch, 3]");
    }

    [Theory]
    [InlineData(EngineChoice.Torch)]
    [InlineData(EngineChoice.Onnx)]
    public void Run_WrongInputShape_SaysWhatTheModelExpects(EngineChoice choice)
    {
        using var dir = new TempDir();
        var model = SmallModel(dir);
        OnnxExporter.Export(model);
        using var engine = InferenceEngines.Open(model, choice);
        using var wrong = zeros([2, 3, 28, 28], dtype: uint8);
        var e = Assert.Throws<ProteaException>(() => engine.Run(wrong));
        Assert.Equal("input batch has shape [2, 3, 28, 28], the model expects [N, 1, 28, 28]", e.Message);
    }

    [Fact]
    public void Open_NegativeThreads_Refused()
    {
        using var dir = new TempDir();
        var model = SmallModel(dir);
        var e = Assert.Throws<ProteaException>(() => InferenceEngines.Open(model, EngineChoice.Torch, threads: -1));
        AssertOneLine(e, "-1 is not a thread count");
        Assert.Equal("threads", e.Field);
    }
}

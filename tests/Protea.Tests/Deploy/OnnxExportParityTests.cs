using Protea.Deploy;
using Protea.Tests.Support;

namespace Protea.Tests.Deploy;

public sealed class OnnxExportParityTests
{
    /// <summary>Every backbone x head: the exported graph reproduces the TorchSharp model and is valid ONNX.</summary>
    [Theory]
    [InlineData("cnn", null, "linear", 64)]
    [InlineData("cnn", null, "cosine", 64)]
    [InlineData("cnn", null, "ncm", 64)]
    [InlineData("resnet18", "small", "linear", 10)]
    [InlineData("resnet18", "small", "cosine", 10)]
    [InlineData("resnet18", "small", "ncm", 10)]
    [InlineData("resnet18", "imagenet", "linear", 10)]
    [InlineData("resnet18", "imagenet", "cosine", 10)]
    [InlineData("resnet18", "imagenet", "ncm", 10)]
    [InlineData("mlp", null, "linear", 256)]
    [InlineData("mlp", null, "cosine", 256)]
    [InlineData("mlp", null, "ncm", 256)]
    public void Export_OnnxEngineMatchesTorchEngine_AndPassesOnnxChecker(string arch, string? stem, string head, int count)
    {
        using var dir = new TempDir();
        var (inputs, k) = DeployModels.Data(arch, stem, count);
        using var _ = inputs;
        using (var bundle = DeployModels.Build(arch, stem, head, inputs, k, seed: 11))
            bundle.Save(dir.Path);

        var path = OnnxExporter.Export(dir.Path);

        Assert.Equal(Path.Combine(dir.Path, "model.onnx"), path);
        Assert.True(OnnxModelFile.IsCurrent(dir.Path));
        using var torchEngine = InferenceEngines.Open(dir.Path, EngineChoice.Torch, threads: 2);
        using var onnxEngine = InferenceEngines.Open(dir.Path, EngineChoice.Onnx, threads: 2);
        Assert.Equal(("torch", "onnx"), (torchEngine.Name, onnxEngine.Name));
        var expected = torchEngine.Run(inputs);
        var actual = onnxEngine.Run(inputs);
        Assert.Equal((count, k), (actual.Count, actual.NumClasses));
        Assert.Equal(expected.EmbeddingDim, actual.EmbeddingDim);
        Assert.True(DeployModels.MaxAbsDiff(expected.Logits, actual.Logits) <= 1e-4,
            $"logits differ by {DeployModels.MaxAbsDiff(expected.Logits, actual.Logits):g3}");
        Assert.True(DeployModels.MaxAbsDiff(expected.Embeddings, actual.Embeddings) <= 1e-4,
            $"embeddings differ by {DeployModels.MaxAbsDiff(expected.Embeddings, actual.Embeddings):g3}");
        // The comparison is only meaningful if the outputs vary between examples.
        Assert.True(expected.Logits.Max() - expected.Logits.Min() > 0.1);
        Assert.Equal("8 13 input logits,embedding", DeployModels.CheckWithOnnx(path));
    }
}

using Protea.Data;
using Protea.Deploy;
using Protea.Models;
using Protea.Tests.Deploy;
using Protea.Tests.Support;
using Protea.Training;
using static TorchSharp.torch;

namespace Protea.Tests.Metric;

/// <summary>Backbones at a width multiplier: channel counts scale, model.json keeps the width, reload and ONNX reproduce the network.</summary>
public sealed class WidthMultiplierTests
{
    [Theory]
    [InlineData("cnn", null, 0.5, 64)]
    [InlineData("resnet18", "small", 0.25, 128)]
    [InlineData("mlp", null, 0.5, 64)]
    public void HalfWidth_SavesLoadsAndExports_WithTheSameOutputs(string arch, string? stem, double width, long embeddingDim)
    {
        using var dir = new TempDir();
        var (inputs, k) = DeployModels.Data(arch, stem, 16);
        using var _ = inputs;
        manual_seed(4);
        var description = DeployModels.Describe(arch, stem, "linear", inputs, k) with { Width = width };
        using (var bundle = new ModelBundle(description, Architectures.Create(description)))
        {
            Assert.Equal(embeddingDim, bundle.Model.Backbone.EmbeddingDim);
            bundle.Save(dir.Path);
        }
        Assert.Contains($"\"width\": {width.ToString(System.Globalization.CultureInfo.InvariantCulture)}", File.ReadAllText(Path.Combine(dir.Path, "model.json")));
        using (var loaded = ModelBundle.Load(dir.Path))
        {
            Assert.Equal(width, loaded.Description.Width);
            Assert.Equal(embeddingDim, loaded.Model.Backbone.EmbeddingDim);
        }
        OnnxExporter.Export(dir.Path);
        using var torchEngine = InferenceEngines.Open(dir.Path, EngineChoice.Torch, threads: 2);
        using var onnxEngine = InferenceEngines.Open(dir.Path, EngineChoice.Onnx, threads: 2);
        var expected = torchEngine.Run(inputs);
        var actual = onnxEngine.Run(inputs);
        Assert.Equal(embeddingDim, actual.EmbeddingDim);
        Assert.True(DeployModels.MaxAbsDiff(expected.Logits, actual.Logits) <= 1e-4);
        Assert.True(DeployModels.MaxAbsDiff(expected.Embeddings, actual.Embeddings) <= 1e-4);
        Assert.True(expected.Logits.Max() - expected.Logits.Min() > 0.01);
    }

    [Fact]
    public void ParameterCount_ShrinksAboutQuadratically()
    {
        using var full = Architectures.CreateBackbone("cnn", InputKind.Image, [1, 28, 28], null);
        using var half = Architectures.CreateBackbone("cnn", InputKind.Image, [1, 28, 28], null, width: 0.5);
        long Count(Backbone b) => b.parameters().Sum(p => p.numel());
        var ratio = (double)Count(half) / Count(full);
        Assert.InRange(ratio, 0.22, 0.30);
    }

    [Fact]
    public void BadWidths_AreRefused_NamingTheValue()
    {
        foreach (var w in new[] { 0.0, -1, 5, double.NaN })
        {
            var e = Assert.Throws<ProteaException>(() => Architectures.CreateBackbone("cnn", InputKind.Image, [1, 8, 8], null, width: w));
            Assert.Equal("width", e.Field);
        }
        using var data = FashionMnist.Dataset(8);
        var pretrained = Assert.Throws<ProteaException>(() => new Trainer(new TrainOptions { Architecture = "resnet18", Init = "x.safetensors", Width = 0.5 }).Train(data, null));
        Assert.Equal("width", pretrained.Field);
    }

    [Fact]
    public void Train_RecordsTheWidth_InModelJsonAndRecipe()
    {
        using var dir = new TempDir();
        using var data = FashionMnist.Dataset(32);
        manual_seed(0);
        using var bundle = new Trainer(new TrainOptions { Epochs = 1, BatchSize = 16, Width = 0.5, ValidationFraction = 0, Threads = 2 }).Train(data, null).Bundle;
        bundle.Save(dir.Path);
        using var loaded = ModelBundle.Load(dir.Path);
        Assert.Equal(0.5, loaded.Description.Width);
        Assert.Equal(64, loaded.Model.Backbone.EmbeddingDim);
        Assert.Equal(0.5, loaded.Description.Recipe!["width"]!.GetValue<double>());
    }
}

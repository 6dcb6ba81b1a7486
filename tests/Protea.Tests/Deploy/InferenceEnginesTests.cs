using Protea.Data;
using Protea.Deploy;
using Protea.Tests.Support;

namespace Protea.Tests.Deploy;

public sealed class InferenceEnginesTests
{
    [Theory]
    [InlineData(EngineChoice.Torch)]
    [InlineData(EngineChoice.Onnx)]
    public void RunAll_InUnevenBatches_GivesEachExampleItsOwnRow(EngineChoice choice)
    {
        using var dir = new TempDir();
        var (images, k) = DeployModels.Data("cnn", null, 23);
        using var _ = images;
        using (var bundle = DeployModels.Build("cnn", null, "cosine", images, k, seed: 9))
            bundle.Save(dir.Path);
        OnnxExporter.Export(dir.Path);
        using var engine = InferenceEngines.Open(dir.Path, choice, threads: 2);
        using var data = new Dataset(images.clone(), new long[23], Enumerable.Range(0, k).Select(i => $"c{i}").ToArray(), InputKind.Image, "fixture");

        var whole = engine.Run(images);
        var batched = InferenceEngines.RunAll(engine, data, batchSize: 5, TestContext.Current.CancellationToken);

        Assert.Equal((23, k, 128), (batched.Count, batched.NumClasses, batched.EmbeddingDim));
        Assert.True(DeployModels.MaxAbsDiff(whole.Logits, batched.Logits) <= 1e-5);
        Assert.True(DeployModels.MaxAbsDiff(whole.Embeddings, batched.Embeddings) <= 1e-5);
        // Rows must not all be the same (a batch offset bug would repeat the first batch).
        Assert.NotEqual(batched.LogitsOf(0).ToArray(), batched.LogitsOf(20).ToArray());
    }

    [Fact]
    public void RunAll_DataOfAnotherShape_NamesTheSource()
    {
        using var dir = new TempDir();
        var (images, k) = DeployModels.Data("cnn", null, 4);
        using var _ = images;
        using (var bundle = DeployModels.Build("cnn", null, "linear", images, k, seed: 9))
            bundle.Save(dir.Path);
        using var engine = InferenceEngines.Open(dir.Path, EngineChoice.Torch);
        using var data = new Dataset(TorchSharp.torch.zeros([2, 5], dtype: TorchSharp.torch.float32), new long[2], ["a"], InputKind.Tabular, "data.csv");

        var e = Assert.Throws<ProteaException>(() => InferenceEngines.RunAll(engine, data, cancellation: TestContext.Current.CancellationToken));

        Assert.Equal("data.csv: examples have shape [5], the model expects [1, 28, 28]; use data like the model was trained on", e.Message);
    }

    [Fact]
    public void Predictions_TakeTheFirstOfTiedMaxima()
    {
        var output = new InferenceOutput(3, 3, 1, [0f, 2f, 1f, 5f, 5f, -1f, -3f, -2f, -1f], [0f, 0f, 0f]);
        Assert.Equal([1, 0, 2], output.Predictions());
    }

    [Theory]
    [InlineData(null, EngineChoice.Auto)]
    [InlineData("auto", EngineChoice.Auto)]
    [InlineData("torch", EngineChoice.Torch)]
    [InlineData("ONNX", EngineChoice.Onnx)]
    public void ParseChoice_KnownNames(string? name, EngineChoice expected) =>
        Assert.Equal(expected, InferenceEngines.ParseChoice(name));

    [Fact]
    public void ParseChoice_UnknownName_ListsTheChoices()
    {
        var e = Assert.Throws<ProteaException>(() => InferenceEngines.ParseChoice("tensorrt"));
        Assert.Equal("engine 'tensorrt' is not known; known: auto, torch, onnx", e.Message);
        Assert.Equal("engine", e.Field);
    }
}

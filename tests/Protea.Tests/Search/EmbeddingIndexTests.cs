using Protea.Data;
using Protea.Models;
using Protea.Search;
using Protea.Tests.Support;
using static TorchSharp.torch;

namespace Protea.Tests.Search;

public sealed class EmbeddingIndexTests
{
    private static EmbeddingIndex Manual(string modelDir, int dim, string sha) =>
        new(ExactSearch.Normalize(rand(5, dim)), [0, 1, -1, 1, 0], ["a/1.png", "b/2.png", "unlabelled/3.png", "b/4.png", "a/5.png"],
            ["a", "b"], InputKind.Image, Path.GetFullPath(modelDir), sha, "somewhere", "/data/root");

    [Fact]
    public void SaveLoad_RoundTripsEveryField()
    {
        using var dir = new TempDir();
        manual_seed(3);
        using var index = Manual(dir.File("model"), 7, new string('a', 64));
        index.Save(dir.File("x.index"));
        using var back = EmbeddingIndex.Load(dir.File("x.index"));
        Assert.Equal(index.Embeddings.data<float>().ToArray(), back.Embeddings.data<float>().ToArray());
        Assert.Equal([5L, 7], back.Embeddings.shape);
        Assert.Equal(index.Labels, back.Labels);
        Assert.Equal(index.Ids, back.Ids);
        Assert.Equal(index.ClassNames, back.ClassNames);
        Assert.Equal(InputKind.Image, back.Kind);
        Assert.Equal(index.ModelDirectory, back.ModelDirectory);
        Assert.Equal(index.ModelWeightsSha256, back.ModelWeightsSha256);
        Assert.Equal("somewhere", back.Data);
        Assert.Equal("/data/root", back.DataRoot);
        Assert.Equal(Path.Combine("/data/root", "b", "2.png"), back.PathOf(1));
        Assert.Null(back.LabelOf(2));
        Assert.Equal([2, 2], back.ClassCounts());
    }

    [Fact]
    public void Build_StoresNormalisedModelEmbeddingsOfTheTrainingSplit()
    {
        using var dir = new TempDir();
        var model = SearchFixture.SaveModel(dir.File("model"), 1);
        var trainFiles = SearchFixture.WriteImageFolder(dir.File("data"), 16);
        using var index = EmbeddingIndex.Build(model, DataSpec.Parse(dir.File("data")), Protea.Deploy.EngineChoice.Torch);
        Assert.Equal(trainFiles.Count, index.Count);
        Assert.Equal(ModelBundle.WeightsSha256(model), index.ModelWeightsSha256);
        Assert.Equal(ModelBundle.ReadDescription(model).Embedding!.Dim, index.Dimension);
        var norms = index.Embeddings.norm(1).data<float>().ToArray();
        Assert.All(norms, v => Assert.Equal(1.0, v, 1e-4));
        // Ids are relative to the data root, so root + id is each training file.
        Assert.Equal(trainFiles.Order(StringComparer.Ordinal), Enumerable.Range(0, index.Count).Select(i => index.PathOf(i)!).Order(StringComparer.Ordinal));
        // Row i is the model's own embedding of file i, normalised.
        using var predictor = Protea.Predictions.Predictor.Open(model, Protea.Deploy.EngineChoice.Torch);
        var e = predictor.PredictFiles([index.PathOf(2)!])[0].Embedding.ToArray();
        var norm = Math.Sqrt(e.Sum(v => (double)v * v));
        var row = index.Embeddings[2].data<float>().ToArray();
        for (var j = 0; j < e.Length; j++) Assert.Equal(e[j] / norm, row[j], 1e-4);
    }

    [Fact]
    public void Load_RefusesATruncatedFile()
    {
        using var dir = new TempDir();
        using var index = Manual(dir.File("model"), 8, new string('a', 64));
        var path = dir.File("x.index");
        index.Save(path);
        var bytes = File.ReadAllBytes(path);
        File.WriteAllBytes(path, bytes[..(bytes.Length - 20)]);
        var e = Assert.Throws<ProteaException>(() => EmbeddingIndex.Load(path));
        Assert.StartsWith($"{path}: not a valid search index", e.Message);
        Assert.Contains("truncated", e.Message);
        Assert.Contains("build the index again", e.Message);
        Assert.DoesNotContain('\n', e.Message);
    }

    [Fact]
    public void Load_RefusesFilesThatAreNotAnIndex()
    {
        using var dir = new TempDir();
        var model = SearchFixture.SaveModel(dir.File("model"), 1);
        var weights = ModelBundle.WeightsPath(model);
        var e = Assert.Throws<ProteaException>(() => EmbeddingIndex.Load(weights));
        Assert.Equal($"{weights}: not a search index (a safetensors file without index metadata); build an index from the model and data", e.Message);
        File.WriteAllText(dir.File("notes.txt"), "hello, this is text");
        e = Assert.Throws<ProteaException>(() => EmbeddingIndex.Load(dir.File("notes.txt")));
        Assert.StartsWith($"{dir.File("notes.txt")}: not a valid search index", e.Message);
        e = Assert.Throws<ProteaException>(() => EmbeddingIndex.Load(dir.File("missing.index")));
        Assert.Contains("not found", e.Message);
    }

    [Fact]
    public void CheckModel_RefusesAWrongDimensionAndAnotherModel()
    {
        using var dir = new TempDir();
        var model = SearchFixture.SaveModel(dir.File("model"), 1);
        var other = SearchFixture.SaveModel(dir.File("other"), 2);
        var sha = ModelBundle.WeightsSha256(model);
        var dim = (int)ModelBundle.ReadDescription(model).Embedding!.Dim;

        using var wrongDim = Manual(model, dim + 1, sha);
        wrongDim.Save(dir.File("dim.index"));
        var e = Assert.Throws<ProteaException>(() => Searcher.Open(dir.File("dim.index")));
        Assert.Equal($"{dir.File("dim.index")}: the index holds {dim + 1}-dimensional embeddings but the model in {Path.GetFullPath(model)} gives {dim}; build the index with this model", e.Message);
        Assert.Equal("index", e.Field);

        using var right = Manual(model, dim, sha);
        right.Save(dir.File("ok.index"));
        using (var searcher = Searcher.Open(dir.File("ok.index"))) Assert.Equal(5, searcher.Index.Count);
        e = Assert.Throws<ProteaException>(() => Searcher.Open(dir.File("ok.index"), other));
        Assert.StartsWith($"{dir.File("ok.index")}: the index was built with another model", e.Message);
        Assert.EndsWith("build the index again with this model, or search with the model that built it", e.Message);
    }
}

using System.Text.Json.Nodes;
using Protea.Data;
using Protea.Deploy;
using Protea.Models;
using Protea.Tests.Support;
using static TorchSharp.torch;

namespace Protea.Tests.Models;

public sealed class RegistryTests
{
    public RegistryTests() => SpatialMaxHead.Register();

    private static ModelDescription Describe(string arch, string head, string? stem = null) => new()
    {
        Architecture = arch,
        Head = head,
        Stem = stem,
        InputKind = arch == "mlp" ? InputKind.Tabular : InputKind.Image,
        InputShape = arch == "mlp" ? [6] : [2, 16, 16],
        ClassNames = ["a", "b", "c"],
        Normalization = new InputNormalization(arch == "mlp" ? new double[6] : [0, 0], arch == "mlp" ? Enumerable.Repeat(1.0, 6).ToArray() : [1, 1], 1),
    };

    [Fact]
    public void BuiltIns_AreRegisteredInOrder_AndTheFirstPerInputKindIsTheDefault()
    {
        Assert.Equal(["cnn", "resnet18", "mlp"], Registry.Backbones.Names);
        Assert.Equal(["linear", "cosine", "ncm"], Registry.Heads.Names.Take(3));
        Assert.Equal("cnn", Architectures.DefaultFor(InputKind.Image).Name);
        Assert.Equal("mlp", Architectures.DefaultFor(InputKind.Tabular).Name);
        Assert.Equal("cosine", Registry.Heads.Get("ncm").TrainsAs);
        Assert.Equal(HeadTraining.FittedFromEmbeddings, Registry.Heads.Get("ncm").Training);
        Assert.NotNull(Registry.Backbones.Get("resnet18").LoadPretrained);
        Assert.Null(Registry.Backbones.Get("cnn").LoadPretrained);
    }

    [Fact]
    public void UnknownArchitecture_ListsTheKnownOnes()
    {
        var e = Assert.Throws<ProteaException>(() => Architectures.CreateBackbone("vgg", InputKind.Image, [1, 8, 8], null));
        Assert.Equal("architecture 'vgg' is not known; known: cnn, resnet18, mlp", e.Message);
        Assert.Equal("architecture", e.Field);
    }

    [Fact]
    public void UnknownHead_ListsTheKnownOnes()
    {
        var e = Assert.Throws<ProteaException>(() => Architectures.Create(Describe("cnn", "svm")));
        Assert.StartsWith("head 'svm' is not known; known: linear, cosine, ncm", e.Message);
        Assert.Equal("head", e.Field);
    }

    [Fact]
    public void UnknownStem_ListsTheKnownOnes()
    {
        var e = Assert.Throws<ProteaException>(() => Architectures.Create(Describe("resnet18", "linear", "huge")));
        Assert.Equal("stem 'huge' is not known for resnet18; known: small, imagenet", e.Message);
        Assert.Equal("stem", e.Field);
    }

    [Fact]
    public void ArchitectureForOtherData_SaysWhichOnesTakeIt()
    {
        var e = Assert.Throws<ProteaException>(() => Architectures.CreateBackbone("mlp", InputKind.Image, [1, 8, 8], null));
        Assert.Equal("architecture 'mlp' takes tabular data, not image data; for image data: cnn, resnet18", e.Message);
        Assert.Equal("architecture", e.Field);
        e = Assert.Throws<ProteaException>(() => Architectures.CreateBackbone("cnn", InputKind.Tabular, [4], null));
        Assert.Equal("architecture 'cnn' takes image data, not tabular data; for tabular data: mlp", e.Message);
    }

    [Fact]
    public void FeatureMapHead_OnABackboneWithoutSpatialMap_IsRefused()
    {
        var e = Assert.Throws<ProteaException>(() => Architectures.Create(Describe("mlp", SpatialMaxHead.Name)));
        Assert.Equal($"head '{SpatialMaxHead.Name}' reads a spatial feature map, and architecture 'mlp' has none", e.Message);
        Assert.Equal("head", e.Field);
    }

    [Fact]
    public void Register_SameSpecTwice_IsANoOp_AnotherSpecUnderATakenName_Throws()
    {
        var before = Registry.Heads.Names.Count;
        Registry.Heads.Register(LinearHead.Spec);
        Assert.Equal(before, Registry.Heads.Names.Count);
        Assert.Throws<InvalidOperationException>(() => Registry.Heads.Register(LinearHead.Spec with { TrainsAs = "cosine" }));
    }

    /// <summary>
    /// Every registered backbone x head that fits builds and runs; the embedding is the feature map's
    /// mean over h and w (identity for the MLP), computed here independently, and the logits are the
    /// head applied to what it consumes.
    /// </summary>
    [Fact]
    public void EveryValidCombination_BuildsAndRunsForward_WithTheEmbeddingThePooledFeatureMap()
    {
        var combinations = 0;
        foreach (var backbone in Registry.Backbones.All)
            foreach (var head in Registry.Heads.All)
                foreach (var stem in backbone.Stems.DefaultIfEmpty(null))
                {
                    if (!Architectures.Fits(backbone, head))
                    {
                        Assert.Throws<ProteaException>(() => Architectures.Create(Describe(backbone.Name, head.Name, stem)));
                        continue;
                    }
                    combinations++;
                    manual_seed(5);
                    using var model = Architectures.Create(Describe(backbone.Name, head.Name, stem));
                    model.eval();
                    using var scope = NewDisposeScope();
                    using var noGrad = no_grad();
                    var x = backbone.Name == "mlp" ? randn(4, 6) : randn(4, 2, 16, 16);
                    var (logits, embedding) = model.ForwardBoth(x);
                    var label = $"{backbone.Name}/{stem}/{head.Name}";
                    Assert.True(logits.shape.SequenceEqual([4L, 3]), label);
                    Assert.True(embedding.shape.SequenceEqual([4L, model.Backbone.EmbeddingDim]), label);
                    Assert.Equal(head.Consumes, model.Head.Consumes);

                    var map = model.Backbone.FeatureMap(x);
                    var pooled = backbone.SpatialFeatureMap ? map.mean([2, 3]) : map;
                    Assert.True(pooled.allclose(embedding, rtol: 1e-5, atol: 1e-6), $"{label}: embedding is not the pooled feature map");
                    Assert.True(model.Embed(x).allclose(embedding, rtol: 1e-5, atol: 1e-6), label);
                    var expected = model.Head.forward(head.Consumes == Consumes.FeatureMap ? map : pooled);
                    Assert.True(expected.allclose(logits, rtol: 1e-5, atol: 1e-5), label);
                    Assert.True(model.forward(x).allclose(logits, rtol: 1e-5, atol: 1e-5), label);
                }
        Assert.True(combinations >= 12 + 3, $"only {combinations} combinations ran");
    }

    [Fact]
    public void ModelJson_RecordsTheEmbedding_NotL2Normalized_AndOlderFilesWithoutItStillLoad()
    {
        using var dir = new TempDir();
        manual_seed(2);
        var description = Describe("cnn", "linear");
        using (var bundle = new ModelBundle(description, Architectures.Create(description)))
        {
            Assert.Equal(new EmbeddingDescription(128, false), bundle.Description.Embedding);
            bundle.Save(dir.Path);
            // What model.json claims holds: the embeddings are not unit vectors.
            using var norms = bundle.Model.Embed(randn(5, 2, 16, 16)).norm(1);
            Assert.False(norms.allclose(ones_like(norms), rtol: 0, atol: 1e-3));
        }
        var json = JsonNode.Parse(File.ReadAllText(ModelBundle.DescriptionPath(dir.Path)))!.AsObject();
        Assert.Equal(128, (int)json["embedding"]!["dim"]!);
        Assert.False((bool)json["embedding"]!["l2_normalized"]!);
        Assert.False(json.ContainsKey("head_config"));

        json.Remove("embedding");
        File.WriteAllText(ModelBundle.DescriptionPath(dir.Path), json.ToJsonString());
        Assert.Null(ModelBundle.ReadDescription(dir.Path).Embedding);
        using var loaded = ModelBundle.Load(dir.Path);
        Assert.Equal(new EmbeddingDescription(128, false), loaded.Description.Embedding);
    }

    [Fact]
    public void ModelJson_WithAnEmbeddingSizeTheNetworkDoesNotHave_IsRefused()
    {
        using var dir = new TempDir();
        var description = Describe("cnn", "linear");
        using (var bundle = new ModelBundle(description, Architectures.Create(description)))
            bundle.Save(dir.Path);
        var json = JsonNode.Parse(File.ReadAllText(ModelBundle.DescriptionPath(dir.Path)))!;
        json["embedding"]!["dim"] = 64;
        File.WriteAllText(ModelBundle.DescriptionPath(dir.Path), json.ToJsonString());
        var e = Assert.Throws<ProteaException>(() => ModelBundle.Load(dir.Path));
        Assert.Contains("the embedding is 64-d, but a cnn for this input gives 128-d embeddings", e.Message);
    }

    [Fact]
    public void CanExport_ReadsTheSpecs()
    {
        Assert.All(Registry.Backbones.Names, b => Assert.True(OnnxExporter.CanExport(Describe(b, "cosine"))));
        Assert.True(OnnxExporter.CanExport(Describe("cnn", "parts")));
        Assert.False(OnnxExporter.CanExport(Describe("cnn", "no-such-head")));
        Assert.False(OnnxExporter.CanExport(Describe("vgg", "linear")));
    }
}

using System.Text.Json.Nodes;
using Protea.Data;
using Protea.Models;
using Protea.Tests.Support;
using TorchSharp;
using static TorchSharp.torch;

namespace Protea.Tests.Models;

public sealed class ModelBundleTests
{
    private static ModelDescription Describe(string arch, string head, string? stem)
    {
        var image = arch != "mlp";
        long[] shape = !image ? [5] : arch == "resnet18" && stem == "imagenet" ? [3, 32, 32] : [3, 12, 12];
        var channels = (int)shape[0];
        return new ModelDescription
        {
            Architecture = arch,
            Head = head,
            Stem = stem,
            InputKind = image ? InputKind.Image : InputKind.Tabular,
            InputShape = shape,
            ClassNames = ["ant", "bee", "cat", "dog"],
            Normalization = new InputNormalization(
                Enumerable.Range(0, channels).Select(i => 0.1 * i).ToArray(),
                Enumerable.Range(0, channels).Select(i => 0.5 + 0.1 * i).ToArray(),
                image ? 1 / 255.0 : 1),
            Recipe = new JsonObject { ["epochs"] = 3, ["seed"] = 7 },
            Metrics = new Dictionary<string, double> { ["accuracy"] = 0.875 },
        };
    }

    /// <summary>A model whose every state tensor differs from a fresh one: BN statistics, affine terms and NCM means are
    /// set to random values, so a load that skipped any of them would change the logits.</summary>
    private static Classifier BuildPerturbed(ModelDescription d)
    {
        var model = Architectures.Create(d);
        using var noGrad = no_grad();
        foreach (var (name, t) in model.state_dict())
        {
            if (name.EndsWith("num_batches_tracked")) t.fill_(17);
            else if (name.EndsWith("running_var") || (t.dim() == 1 && name.EndsWith(".weight")))
                t.copy_(rand_like(t) + 0.5);
            else if (name.EndsWith("running_mean") || name.EndsWith("bias") || name == "head.prototypes")
                t.copy_(randn_like(t) * 0.3);
            else if (name is "head.scale" or "head.temperature")
                t.fill_(7.5);
        }
        model.eval();
        return model;
    }

    private static Tensor Input(ModelDescription d) => randn([3, .. d.InputShape]);

    [Theory]
    [InlineData("cnn", "linear", null)]
    [InlineData("cnn", "cosine", null)]
    [InlineData("cnn", "ncm", null)]
    [InlineData("resnet18", "linear", "small")]
    [InlineData("resnet18", "cosine", "small")]
    [InlineData("resnet18", "ncm", "small")]
    [InlineData("resnet18", "linear", "imagenet")]
    [InlineData("resnet18", "cosine", "imagenet")]
    [InlineData("resnet18", "ncm", "imagenet")]
    [InlineData("mlp", "linear", null)]
    [InlineData("mlp", "cosine", null)]
    [InlineData("mlp", "ncm", null)]
    public void SaveThenLoad_GivesIdenticalLogitsAndDescription(string arch, string head, string? stem)
    {
        using var dir = new TempDir();
        manual_seed(1);
        var description = Describe(arch, head, stem);
        using var original = new ModelBundle(description, BuildPerturbed(description));
        using var x = Input(description);
        using var expected = original.Model.forward(x);
        original.Save(dir.Path);

        using var loaded = ModelBundle.Load(dir.Path);
        Assert.False(loaded.Model.training);
        using var actual = loaded.Model.forward(x);
        Assert.True(expected.Equals(actual), $"{arch}/{head}/{stem}: logits differ after load");
        foreach (var (name, t) in original.Model.state_dict())
            Assert.True(t.Equals(loaded.Model.state_dict()[name]), name);

        var d = loaded.Description;
        Assert.Equal((description.Architecture, description.Head, description.Stem, description.InputKind), (d.Architecture, d.Head, d.Stem, d.InputKind));
        Assert.Equal(description.InputShape, d.InputShape);
        Assert.Equal(description.ClassNames, d.ClassNames);
        Assert.Equal(description.Normalization.Mean, d.Normalization.Mean);
        Assert.Equal(description.Normalization.Std, d.Normalization.Std);
        Assert.Equal(description.Normalization.Scale, d.Normalization.Scale);
        Assert.Equal(7, (int)d.Recipe!["seed"]!);
        Assert.Equal(0.875, d.Metrics["accuracy"]);
        Assert.Equal(ModelDescription.CurrentFormatVersion, d.FormatVersion);
    }

    private static string SaveSmallCnn(TempDir dir)
    {
        var description = Describe("cnn", "linear", null);
        using var bundle = new ModelBundle(description, Architectures.Create(description));
        bundle.Save(dir.Path);
        return ModelBundle.WeightsPath(dir.Path);
    }

    /// <summary>
    /// Rewrites the weights file with one change made by <paramref name="edit"/>, and drops the hash
    /// from model.json (as in a file saved before hashes were recorded), so the tensor checks are reached.
    /// </summary>
    private static void EditWeights(string path, Action<Dictionary<string, Tensor>> edit)
    {
        var tensors = SafeTensors.Read(path);
        edit(tensors);
        SafeTensors.Write(path, tensors);
        foreach (var t in tensors.Values) t.Dispose();
        ForgetWeightsHash(Path.GetDirectoryName(path)!);
    }

    private static void ForgetWeightsHash(string dir)
    {
        var json = JsonNode.Parse(File.ReadAllText(ModelBundle.DescriptionPath(dir)))!.AsObject();
        Assert.True(json.Remove("weights_sha256"));
        File.WriteAllText(ModelBundle.DescriptionPath(dir), json.ToJsonString());
    }

    [Fact]
    public void Save_RecordsTheSha256OfTheWeightsFile()
    {
        using var dir = new TempDir();
        var path = SaveSmallCnn(dir);
        var expected = Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(File.ReadAllBytes(path)));
        var json = JsonNode.Parse(File.ReadAllText(ModelBundle.DescriptionPath(dir.Path)))!;
        Assert.Equal(expected, (string?)json["weights_sha256"]);
    }

    [Fact]
    public void Load_OneFlippedBitInTheWeights_IsRefusedWithOneLine()
    {
        using var dir = new TempDir();
        var path = SaveSmallCnn(dir);
        var bytes = File.ReadAllBytes(path);
        bytes[^5] ^= 0x10; // inside the last tensor's data: the file still parses, the values change
        File.WriteAllBytes(path, bytes);
        var e = Assert.Throws<ProteaException>(() => ModelBundle.Load(dir.Path));
        Assert.StartsWith(path + ": ", e.Message);
        Assert.Contains("SHA-256", e.Message);
        Assert.DoesNotContain('\n', e.Message);
        Assert.Equal("model", e.Field);
        // The check can be skipped, and the file then loads (with the changed value).
        ModelBundle.Load(dir.Path, verifyWeights: false).Dispose();
    }

    [Fact]
    public void Load_OlderModelJsonWithoutAHash_LoadsUnchecked()
    {
        using var dir = new TempDir();
        SaveSmallCnn(dir);
        ForgetWeightsHash(dir.Path);
        using var loaded = ModelBundle.Load(dir.Path);
        Assert.Null(loaded.Description.WeightsSha256);
    }

    [Fact]
    public void Load_TensorOfWrongShape_NamesTensorAndBothShapes()
    {
        using var dir = new TempDir();
        var weights = SaveSmallCnn(dir);
        EditWeights(weights, t => t["head.bias"] = zeros(11));
        var e = Assert.Throws<ProteaException>(() => ModelBundle.Load(dir.Path));
        Assert.Equal($"{weights}: tensor 'head.bias' has shape [11], the model needs [4]", e.Message);
    }

    [Fact]
    public void Load_MissingTensor_NamesIt()
    {
        using var dir = new TempDir();
        var weights = SaveSmallCnn(dir);
        EditWeights(weights, t => t.Remove("backbone.block3.bn.running_var"));
        var e = Assert.Throws<ProteaException>(() => ModelBundle.Load(dir.Path));
        Assert.StartsWith($"{weights}: tensor 'backbone.block3.bn.running_var' is missing", e.Message);
    }

    [Fact]
    public void Load_UnexpectedTensor_NamesIt()
    {
        using var dir = new TempDir();
        var weights = SaveSmallCnn(dir);
        EditWeights(weights, t => t["backbone.block6.conv.weight"] = zeros(1));
        var e = Assert.Throws<ProteaException>(() => ModelBundle.Load(dir.Path));
        Assert.Contains("unexpected tensor 'backbone.block6.conv.weight'", e.Message);
    }

    [Fact]
    public void Load_MissingModelJson_SaysNotAModelDirectory()
    {
        using var dir = new TempDir();
        SaveSmallCnn(dir);
        File.Delete(ModelBundle.DescriptionPath(dir.Path));
        var e = Assert.Throws<ProteaException>(() => ModelBundle.Load(dir.Path));
        Assert.Equal($"{ModelBundle.DescriptionPath(dir.Path)}: not found; {dir.Path} is not a Protea model directory", e.Message);
    }

    [Fact]
    public void Load_MissingWeights_NamesFile()
    {
        using var dir = new TempDir();
        var weights = SaveSmallCnn(dir);
        File.Delete(weights);
        var e = Assert.Throws<ProteaException>(() => ModelBundle.Load(dir.Path));
        Assert.StartsWith(weights, e.Message);
    }

    [Fact]
    public void Load_NoSuchDirectory_SaysSo()
    {
        using var dir = new TempDir();
        var missing = dir.File("nope");
        var e = Assert.Throws<ProteaException>(() => ModelBundle.Load(missing));
        Assert.Contains($"{missing}: no such directory", e.Message);
    }

    [Fact]
    public void Load_FormatVersionTooNew_AsksForUpgrade()
    {
        using var dir = new TempDir();
        SaveSmallCnn(dir);
        var jsonPath = ModelBundle.DescriptionPath(dir.Path);
        var json = JsonNode.Parse(File.ReadAllText(jsonPath))!.AsObject();
        Assert.Equal(ModelDescription.CurrentFormatVersion, (int)json["format_version"]!);
        json["format_version"] = ModelDescription.CurrentFormatVersion + 1;
        File.WriteAllText(jsonPath, json.ToJsonString());
        var e = Assert.Throws<ProteaException>(() => ModelBundle.Load(dir.Path));
        Assert.StartsWith(jsonPath, e.Message);
        Assert.Contains($"format version {ModelDescription.CurrentFormatVersion + 1} is not supported", e.Message);
        Assert.Contains("upgrade Protea", e.Message);
    }

    [Fact]
    public void Load_ModelJsonNotJson_NamesFile()
    {
        using var dir = new TempDir();
        SaveSmallCnn(dir);
        var jsonPath = ModelBundle.DescriptionPath(dir.Path);
        File.WriteAllText(jsonPath, "{ \"architecture\": ");
        var e = Assert.Throws<ProteaException>(() => ModelBundle.Load(dir.Path));
        Assert.StartsWith($"{jsonPath}: not a valid model description", e.Message);
    }

    [Fact]
    public void Save_TwiceIntoOneDirectory_LeavesExactlyTheTwoFiles()
    {
        using var dir = new TempDir();
        SaveSmallCnn(dir);
        SaveSmallCnn(dir);
        Assert.Equal([ModelBundle.DescriptionFile, ModelBundle.WeightsFile],
            Directory.GetFileSystemEntries(dir.Path).Select(Path.GetFileName).Order(StringComparer.Ordinal));
        var tensors = SafeTensors.Read(ModelBundle.WeightsPath(dir.Path), out var m);
        foreach (var t in tensors.Values) t.Dispose();
        Assert.Equal("pt", m["format"]);
        Assert.Equal(ModelDescription.CurrentFormatVersion.ToString(), m["protea_format_version"]);
    }
}

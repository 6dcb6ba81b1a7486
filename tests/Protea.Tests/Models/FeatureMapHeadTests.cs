using System.Text.Json.Nodes;
using Protea.Data;
using Protea.Deploy;
using Protea.Evaluation;
using Protea.Models;
using Protea.Tests.Deploy;
using Protea.Tests.Support;
using Protea.Training;
using static TorchSharp.torch;

namespace Protea.Tests.Models;

/// <summary>A head that reads the feature map, registered in one place, goes through training, saving, loading and ONNX export like a built-in one.</summary>
public sealed class FeatureMapHeadTests
{
    public FeatureMapHeadTests() => SpatialMaxHead.Register();

    /// <summary>
    /// 12x12 gray images with faint noise: class 0 holds a bright 3x3 square, class 1 a bright 1x5 bar,
    /// each at a random place, so the answer is local and a max over positions finds it.
    /// </summary>
    private static Dataset Shapes(int count, int seed)
    {
        var random = new Random(seed);
        var pixels = new byte[count * 144];
        var labels = new long[count];
        for (var i = 0; i < count; i++)
        {
            var image = pixels.AsSpan(i * 144, 144);
            for (var p = 0; p < 144; p++) image[p] = (byte)random.Next(0, 40);
            labels[i] = i % 2;
            var (h, w) = labels[i] == 0 ? (3, 3) : (1, 5);
            var (top, left) = (random.Next(0, 12 - h + 1), random.Next(0, 12 - w + 1));
            for (var r = top; r < top + h; r++)
                for (var c = left; c < left + w; c++)
                    image[r * 12 + c] = 255;
        }
        return new Dataset(tensor(pixels, [count, 1, 12, 12]), labels, ["square", "bar"], InputKind.Image, "shapes");
    }

    [Fact]
    public void Forward_IsTheBestPositionsScoreTimesTheScale()
    {
        manual_seed(4);
        using var head = new SpatialMaxHead(3, 2, 1.5);
        using var scope = NewDisposeScope();
        var map = randn(2, 3, 4, 5);
        var w = head.state_dict()["conv.weight"].reshape(2, 3);
        var b = head.state_dict()["conv.bias"];
        // Oracle: per-position scores sum_c w[k, c] map[n, c, h, w] + b[k], written out with einsum.
        var scores = einsum("nchw,kc->nkhw", map, w) + b.reshape(1, 2, 1, 1);
        var expected = scores.flatten(2).max(2).values * 1.5;
        Assert.True(head.forward(map).allclose(expected, rtol: 1e-5, atol: 1e-6));
    }

    [Fact]
    public void TrainsSavesLoadsAndExports_WithOnnxParity()
    {
        using var train = Shapes(256, seed: 1);
        using var test = Shapes(128, seed: 2);
        var options = new TrainOptions
        {
            Architecture = "cnn", Head = SpatialMaxHead.Name, Epochs = 6, BatchSize = 32, LearningRate = 0.05,
            Schedule = "onecycle", ValidationFraction = 0, CropPadding = 0, Flip = false, Seed = 7, Threads = 2,
        };
        // The test set is scored after each epoch through the in-memory ONNX export, which this head has.
        var result = new Trainer(options).Train(train, test);
        using var bundle = result.Bundle;
        Assert.IsType<SpatialMaxHead>(bundle.Model.Head);
        Assert.True(result.Epochs[^1].TrainLoss < result.Epochs[0].TrainLoss * 0.5,
            $"train loss {result.Epochs[0].TrainLoss:g3} -> {result.Epochs[^1].TrainLoss:g3}");
        var logits = ClassifierInference.Logits(bundle.Model, bundle.Description.Normalization, test.Inputs);
        var accuracy = ClassificationMetrics.Evaluate(logits, test.Labels, test.ClassNames).Accuracy;
        Assert.True(accuracy > 0.9, $"test accuracy {accuracy:P1}");
        Assert.Equal(accuracy, result.Epochs[^1].ValidationAccuracy!.Value, 0.02);

        using var dir = new TempDir();
        bundle.Save(dir.Path);
        var json = JsonNode.Parse(File.ReadAllText(ModelBundle.DescriptionPath(dir.Path)))!;
        Assert.Equal(SpatialMaxHead.Name, (string)json["head"]!);
        Assert.Equal(SpatialMaxHead.DefaultScale, (double)json["head_config"]!["scale"]!);

        using (var loaded = ModelBundle.Load(dir.Path))
        {
            var reloaded = ClassifierInference.Logits(loaded.Model, loaded.Description.Normalization, test.Inputs);
            Assert.Equal(logits, reloaded);
        }

        OnnxExporter.Export(dir.Path);
        using var torchEngine = InferenceEngines.Open(dir.Path, EngineChoice.Torch, threads: 2);
        using var onnxEngine = InferenceEngines.Open(dir.Path, EngineChoice.Onnx, threads: 2);
        var expected = torchEngine.Run(test.Inputs);
        var actual = onnxEngine.Run(test.Inputs);
        Assert.True(DeployModels.MaxAbsDiff(expected.Logits, actual.Logits) <= 1e-4,
            $"logits differ by {DeployModels.MaxAbsDiff(expected.Logits, actual.Logits):g3}");
        Assert.True(DeployModels.MaxAbsDiff(expected.Embeddings, actual.Embeddings) <= 1e-4,
            $"embeddings differ by {DeployModels.MaxAbsDiff(expected.Embeddings, actual.Embeddings):g3}");
        Assert.True(expected.Logits.Max() - expected.Logits.Min() > 0.1);
        Assert.Equal("8 13 input logits,embedding", DeployModels.CheckWithOnnx(OnnxModelFile.PathIn(dir.Path)));
    }

    /// <summary>The head's own model.json section comes back on load: with another scale, the logits would differ.</summary>
    [Fact]
    public void HeadConfig_RoundTripsThroughModelJson()
    {
        using var dir = new TempDir();
        using var data = Shapes(8, seed: 3);
        manual_seed(9);
        var description = new ModelDescription
        {
            Architecture = "cnn", Head = SpatialMaxHead.Name, InputKind = InputKind.Image, InputShape = [1, 12, 12],
            ClassNames = data.ClassNames, Normalization = InputNormalization.Fit(data.Inputs),
            HeadConfig = new JsonObject { ["scale"] = 3.5 },
        };
        using var original = new ModelBundle(description, Architectures.Create(description));
        Assert.Equal(3.5, ((SpatialMaxHead)original.Model.Head).Scale);
        original.Model.eval();
        original.Save(dir.Path);
        using var loaded = ModelBundle.Load(dir.Path);
        Assert.Equal(3.5, ((SpatialMaxHead)loaded.Model.Head).Scale);
        var a = ClassifierInference.Logits(original.Model, description.Normalization, data.Inputs);
        var b = ClassifierInference.Logits(loaded.Model, loaded.Description.Normalization, data.Inputs);
        Assert.Equal(a, b);
    }

    [Fact]
    public void Export_OfAHeadWithoutOnnxEmission_SaysSoNamingTheHead()
    {
        var noOnnx = SpatialMaxHead.NoOnnxSpec;
        // Registering an equal spec again is a no-op (records compare by value).
        Registry.Heads.Register(noOnnx with { });
        using var dir = new TempDir();
        using var data = Shapes(8, seed: 3);
        var description = new ModelDescription
        {
            Architecture = "cnn", Head = SpatialMaxHead.Name, InputKind = InputKind.Image, InputShape = [1, 12, 12],
            ClassNames = data.ClassNames, Normalization = InputNormalization.Fit(data.Inputs),
        };
        using (var bundle = new ModelBundle(description, Architectures.Create(description)))
            bundle.Save(dir.Path);
        var json = JsonNode.Parse(File.ReadAllText(ModelBundle.DescriptionPath(dir.Path)))!;
        json["head"] = noOnnx.Name;
        File.WriteAllText(ModelBundle.DescriptionPath(dir.Path), json.ToJsonString());

        Assert.False(OnnxExporter.CanExport(ModelBundle.ReadDescription(dir.Path)));
        var e = Assert.Throws<ProteaException>(() => OnnxExporter.Export(dir.Path));
        Assert.StartsWith($"head '{noOnnx.Name}' has no ONNX export yet", e.Message);
        Assert.DoesNotContain(noOnnx.Name, e.Message[(e.Message.IndexOf("exportable", StringComparison.Ordinal))..]);
        Assert.False(File.Exists(OnnxModelFile.PathIn(dir.Path)));
    }
}

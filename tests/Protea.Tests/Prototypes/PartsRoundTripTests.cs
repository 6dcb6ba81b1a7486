using System.Text.Json.Nodes;
using Protea.Deploy;
using Protea.Evaluation;
using Protea.Models;
using Protea.Prototypes;
using Protea.Tests.Deploy;
using Protea.Tests.Support;
using Protea.Training;
using static TorchSharp.torch;

namespace Protea.Tests.Prototypes;

/// <summary>A parts model trains through all its stages, and its prototypes, their provenance and its explanations survive save, load and ONNX export.</summary>
public sealed class PartsRoundTripTests
{
    [Fact]
    public void TrainsPushesSavesLoadsAndExports_SameTopPrototypesOnBothEngines()
    {
        using var train = Shapes.Make(192, seed: 1);
        using var test = Shapes.Make(64, seed: 2);
        var options = new TrainOptions
        {
            Architecture = "cnn", Head = PartsHead.Name, Epochs = 3, BatchSize = 32, LearningRate = 0.05, ValidationFraction = 0, Seed = 7, Threads = 2,
            // The paper's cluster cost: on 192 tiny images and 3 epochs the strong pull trains faster than the default.
            Parts = new PartsOptions { PrototypesPerClass = 3, PrototypeDim = 16, LastLayerEpochs = 5, ClusterCost = 0.8 },
        };
        manual_seed(7);
        var result = new Trainer(options).Train(train, null);
        using var bundle = result.Bundle;
        var head = Assert.IsType<PartsHead>(bundle.Model.Head);
        Assert.NotNull(head.Summary);
        Assert.Equal(6, head.Summary!.Pushed);
        Assert.Equal(head.PrototypeCount, head.Summary.PerClass.Sum());
        // Every prototype remaining was pushed onto a patch of an item of its own class.
        Assert.All(Enumerable.Range(0, head.PrototypeCount), j =>
        {
            var source = head.Sources[j]!;
            Assert.Equal(head.PrototypeClasses[j], train.Labels[train.Ids.ToList().IndexOf(source.ItemId)]);
        });
        var logits = ClassifierInference.Logits(bundle.Model, bundle.Description.Normalization, test.Inputs);
        var accuracy = ClassificationMetrics.Evaluate(logits, test.Labels, test.ClassNames).Accuracy;
        Assert.True(accuracy > 0.8, $"test accuracy {accuracy:P1}");

        using var dir = new TempDir();
        bundle.Save(dir.Path);
        var json = JsonNode.Parse(File.ReadAllText(ModelBundle.DescriptionPath(dir.Path)))!["head_config"]!;
        Assert.Equal(head.PrototypeCount, json["prototype_classes"]!.AsArray().Count);
        var explained = PrototypeExplainer.Explain(bundle, test.Inputs);
        using (var loaded = ModelBundle.Load(dir.Path))
        {
            var again = Assert.IsType<PartsHead>(loaded.Model.Head);
            Assert.Equal(head.PrototypeClasses, again.PrototypeClasses);
            Assert.Equal(head.Sources, again.Sources);
            Assert.Equal(logits, ClassifierInference.Logits(loaded.Model, loaded.Description.Normalization, test.Inputs));
            var reloaded = PrototypeExplainer.Explain(loaded, test.Inputs);
            Assert.Equal(explained.Select(e => e.Top.Select(t => t.Prototype).ToArray()), reloaded.Select(e => e.Top.Select(t => t.Prototype).ToArray()));

            OnnxExporter.Export(dir.Path);
            Assert.Equal("8 13 input similarity_maps,logits,embedding", DeployModels.CheckWithOnnx(OnnxModelFile.PathIn(dir.Path)));
            using var torchEngine = InferenceEngines.Open(dir.Path, EngineChoice.Torch, threads: 2);
            using var onnxEngine = InferenceEngines.Open(dir.Path, EngineChoice.Onnx, threads: 2);
            var expected = torchEngine.Run(test.Inputs);
            var actual = onnxEngine.Run(test.Inputs);
            // Relative to the logits' scale: after push a prototype is some patch exactly, and near d = 0 the
            // similarity log((d + 1) / (d + 1e-4)) turns float32 rounding of d (~1e-6) into ~1e-2.
            var scale = expected.Logits.Max(Math.Abs);
            Assert.True(DeployModels.MaxAbsDiff(expected.Logits, actual.Logits) <= 1e-3 * scale,
                $"logits differ by {DeployModels.MaxAbsDiff(expected.Logits, actual.Logits):g3} at scale {scale:g3}");
            Assert.True(DeployModels.MaxAbsDiff(expected.Embeddings, actual.Embeddings) <= 1e-4);

            var onnx = PrototypeExplainer.ExplainOnnx(dir.Path, loaded, test.Inputs);
            for (var i = 0; i < explained.Count; i++)
            {
                Assert.Equal(explained[i].PredictedClass, onnx[i].PredictedClass);
                Assert.Equal(explained[i].Top.Select(t => t.Prototype), onnx[i].Top.Select(t => t.Prototype));
                for (var k = 0; k < explained[i].Top.Count; k++)
                    CellSimilarity.AssertSameOrTied(loaded, test.Inputs, i, explained[i].Top[k].Prototype, explained[i].Top[k].ActivatedBox, onnx[i].Top[k].ActivatedBox);
                Assert.True(Math.Abs(explained[i].Top[0].Similarity - onnx[i].Top[0].Similarity) <= 1e-3 * Math.Max(1, explained[i].Top[0].Similarity));
            }
        }
        // The contributions of all prototypes add up to the logit (no bias), so shares of the whole list sum to 1.
        var all = PrototypeExplainer.Explain(bundle, test.Inputs.narrow(0, 0, 4), top: head.PrototypeCount);
        Assert.All(all, e => Assert.Equal(1.0, e.Top.Sum(t => t.Share), 1e-4));
        Assert.All(all, e => Assert.Equal(e.Logit, e.Top.Sum(t => t.Contribution), 1e-3));
        using var maps = PrototypeExplainer.ActivationMaps(bundle, test.Inputs.narrow(0, 0, 5));
        Assert.Equal(new long[] { 5, 12, 12 }, maps.shape);
    }

    [Fact]
    public void ModelWithoutPrototypes_OrInputOfAnotherShape_IsAUserError()
    {
        using var data = Shapes.Make(4, seed: 3);
        var description = new ModelDescription
        {
            Architecture = "cnn", Head = "linear", InputKind = Protea.Data.InputKind.Image, InputShape = [1, 12, 12],
            ClassNames = data.ClassNames, Normalization = InputNormalization.Fit(data.Inputs),
        };
        using (var linear = new ModelBundle(description, Architectures.Create(description)))
        {
            var e = Assert.Throws<ProteaException>(() => PrototypeExplainer.Explain(linear, data.Inputs));
            Assert.Contains("'linear', which has no prototypes", e.Message);
        }
        var parts = description with { Head = PartsHead.Name };
        using var model = new ModelBundle(parts, Architectures.Create(parts));
        using var wrong = zeros([2, 3, 12, 12], dtype: ScalarType.Byte);
        var error = Assert.Throws<ProteaException>(() => PrototypeExplainer.Explain(model, wrong));
        Assert.Equal("data", error.Field);
        Assert.Contains("[3, 12, 12]", error.Message);
    }

    [Fact]
    public void Upsample_MatchesPyTorchBilinearWithoutAlignedCorners()
    {
        float[] map = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11];
        var ours = PrototypeExplainer.Upsample(map, 3, 4, 7, 9);
        var expected = Python.Run("""
            import torch, torch.nn.functional as F
            x = torch.arange(12, dtype=torch.float64).reshape(1, 1, 3, 4)
            print(" ".join(str(v) for v in F.interpolate(x, size=(7, 9), mode="bilinear", align_corners=False).reshape(-1).tolist()))
            """).Trim().Split(' ').Select(double.Parse).ToArray();
        for (var i = 0; i < expected.Length; i++) Assert.Equal(expected[i], ours[i], 1e-4);
    }
}

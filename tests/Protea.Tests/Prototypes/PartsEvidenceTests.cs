using System.Security.Cryptography;
using System.Text.Json;
using System.Text.Json.Nodes;
using Protea.Deploy;
using Protea.Models;
using Protea.Predictions;
using Protea.Prototypes;
using Protea.Tests.Support;
using Protea.Training;
using SkiaSharp;
using static TorchSharp.torch;

namespace Protea.Tests.Prototypes;

/// <summary>One small parts model, trained, saved and exported once for the evidence tests.</summary>
public sealed class PartsEvidenceFixture : IDisposable
{
    public TempDir Dir { get; } = new();
    public string Model { get; }
    public Protea.Data.Dataset Train { get; } = Shapes.Make(192, seed: 1);
    public Protea.Data.Dataset Test { get; } = Shapes.Make(16, seed: 2);
    public string[] Images { get; }

    public PartsEvidenceFixture()
    {
        var options = new TrainOptions
        {
            Architecture = "cnn", Head = PartsHead.Name, Epochs = 2, BatchSize = 32, LearningRate = 0.05, ValidationFraction = 0, Seed = 7, Threads = 2,
            Parts = new PartsOptions { PrototypesPerClass = 3, PrototypeDim = 16, LastLayerEpochs = 3 },
        };
        manual_seed(7);
        using var bundle = new Trainer(options).Train(Train, null).Bundle;
        Model = Dir.File("model");
        bundle.Save(Model);
        OnnxExporter.Export(Model);
        var pixels = Test.Inputs.data<byte>().ToArray();
        Images = Enumerable.Range(0, 3).Select(i => TestImages.Write(Dir.File($"test{i}.png"), 12, 12,
            (x, y) => { var v = pixels[i * 144 + y * 12 + x]; return new SKColor(v, v, v); }, gray: true)).ToArray();
    }

    public void Dispose()
    {
        Train.Dispose();
        Test.Dispose();
        Dir.Dispose();
    }
}

/// <summary>
/// Evidence from part prototypes: the prototypes' pictures are saved with the model (hash checked) and
/// survive reload and re-save; panels and the gallery are written; the library predictor gives the same
/// evidence on both engines; the CLI's bad inputs are one-line errors with exit 2.
/// </summary>
public sealed class PartsEvidenceTests(PartsEvidenceFixture f) : IClassFixture<PartsEvidenceFixture>
{
    [Fact]
    public void Pictures_AreTheSourceImages_SavedHashedAndKeptOnResave()
    {
        var path = PrototypeGallery.PathIn(f.Model);
        Assert.True(File.Exists(path));
        var config = JsonNode.Parse(File.ReadAllText(ModelBundle.DescriptionPath(f.Model)))!["head_config"]!;
        Assert.Equal(Convert.ToHexStringLower(SHA256.HashData(File.ReadAllBytes(path))), (string)config["pictures_sha256"]!);
        using var bundle = ModelBundle.Load(f.Model);
        var head = Assert.IsType<PartsHead>(bundle.Model.Head);
        var gallery = head.Gallery!;
        Assert.Equal((1, 12, 12), (gallery.Channels, gallery.Height, gallery.Width));
        Assert.Equal(head.PrototypeCount, gallery.Pictures.Count);
        var train = f.Train.Inputs.data<byte>().ToArray();
        for (var j = 0; j < head.PrototypeCount; j++)
        {
            // The oracle is the training set itself: the picture is the source item's pixels.
            var item = f.Train.Ids.ToList().IndexOf(head.Sources[j]!.ItemId);
            Assert.Equal(train[(item * 144)..((item + 1) * 144)], gallery.Pictures[j].Image);
            // The prototype is that patch exactly (distance 0), so its activation peaks in the source box.
            var act = gallery.Pictures[j].Activation;
            var box = head.Sources[j]!.Box;
            var inside = Enumerable.Range(0, 144).Where(i => i % 12 >= box.X0 && i % 12 < box.X1 && i / 12 >= box.Y0 && i / 12 < box.Y1).ToArray();
            Assert.Equal(255, inside.Max(i => act[i]));
        }

        using var copy = new TempDir();
        bundle.Save(copy.Path);
        Assert.Equal(File.ReadAllBytes(path), File.ReadAllBytes(PrototypeGallery.PathIn(copy.Path)));
        using var again = ModelBundle.Load(copy.Path);
        Assert.Equal(gallery.Pictures.Select(p => p.Activation), ((PartsHead)again.Model.Head).Gallery!.Pictures.Select(p => p.Activation));
    }

    [Fact]
    public void DamagedOrMissingPictures_AreRefusedOnLoad_AndByTheCliInOneLine()
    {
        using var copy = new TempDir();
        foreach (var file in Directory.GetFiles(f.Model)) File.Copy(file, Path.Combine(copy.Path, Path.GetFileName(file)));
        var path = PrototypeGallery.PathIn(copy.Path);
        var bytes = File.ReadAllBytes(path);
        bytes[^1] ^= 0xff;
        File.WriteAllBytes(path, bytes);
        var e = Assert.Throws<ProteaException>(() => ModelBundle.Load(copy.Path));
        Assert.Contains("SHA-256", e.Message);
        Assert.Contains(PrototypeGallery.FileName, e.Message);
        var r = CliRunner.Run("predict", "--model", copy.Path, "--engine", "torch", "--explain", f.Images[0]);
        Assert.Equal(2, r.ExitCode);
        Assert.Contains("SHA-256", r.Stderr);
        Assert.Single(r.Stderr.Trim().Split('\n'));
        File.Delete(path);
        Assert.Contains("file not found", Assert.Throws<ProteaException>(() => ModelBundle.Load(copy.Path)).Message);
    }

    [Fact]
    public void Panel_IsWritten_WithTheExpectedSize()
    {
        using var dir = new TempDir();
        var explained = PrototypeExplainer.ExplainFiles(f.Model, f.Images, top: 2);
        var file = dir.File("panel.png");
        PrototypePanel.Write(explained[0], file);
        using var png = SKBitmap.Decode(file);
        Assert.Equal(PrototypePanel.Size(2), (png.Width, png.Height));
        Assert.NotNull(explained[0].Top[0].Picture);
        Assert.Equal(f.Test.Inputs[0].data<byte>().ToArray(), explained[0].Pixels);
    }

    [Fact]
    public void PredictExplainOut_WritesOnePanelPerInput()
    {
        using var dir = new TempDir();
        var r = CliRunner.Run("predict", "--model", f.Model, "--explain", "--out", dir.File("panels"), "--json", f.Images[0], f.Images[1]);
        Assert.Equal(0, r.ExitCode);
        for (var i = 0; i < 2; i++)
        {
            using var png = SKBitmap.Decode(Path.Combine(dir.File("panels"), Protea.Cli.Commands.PredictCommand.PanelFile(i, f.Images[i])));
            Assert.Equal(PrototypePanel.Size(PrototypeExplainer.DefaultTop), (png.Width, png.Height));
        }
        using var doc = JsonDocument.Parse(r.Stdout);
        Assert.Equal("onnx", doc.RootElement.GetProperty("engine").GetString());
        Assert.Equal(3, doc.RootElement.GetProperty("predictions")[1].GetProperty("evidence").GetArrayLength());

        var without = CliRunner.Run("predict", "--model", f.Model, "--out", dir.File("x"), f.Images[0]);
        Assert.Equal(2, without.ExitCode);
        Assert.Contains("--explain", without.Stderr);
        Assert.Single(without.Stderr.Trim().Split('\n'));
    }

    [Fact]
    public void Gallery_HasOnePictureAndIndexEntryPerPrototype()
    {
        using var dir = new TempDir();
        var r = CliRunner.Run("prototypes", "--model", f.Model, "--out", dir.Path);
        Assert.Equal(0, r.ExitCode);
        using var bundle = ModelBundle.Load(f.Model);
        var head = (PartsHead)bundle.Model.Head;
        var html = File.ReadAllText(Path.Combine(dir.Path, PrototypeGalleryPage.IndexFile));
        for (var j = 0; j < head.PrototypeCount; j++)
        {
            var file = PrototypeGalleryPage.PictureFile(j);
            Assert.Contains($"src=\"{file}\"", html);
            Assert.Contains($"item {head.Sources[j]!.ItemId}", html);
            using var png = SKBitmap.Decode(Path.Combine(dir.Path, file));
            Assert.Equal(PrototypeGalleryPage.Size, (png.Width, png.Height));
        }
        Assert.Equal(head.PrototypeCount, Directory.GetFiles(dir.Path, "*.png").Length);
        Assert.DoesNotContain("http", html);
        Assert.Contains($"merged {head.Summary!.Merged} and pruned {head.Summary.Pruned}", html);
        foreach (var name in bundle.Description.ClassNames) Assert.Contains($">{name} (", html);
    }

    [Fact]
    public void Predictor_GivesTheSameEvidenceOnBothEngines()
    {
        using var torchPredictor = Predictor.Open(f.Model, EngineChoice.Torch, 2, explain: 3);
        using var onnxPredictor = Predictor.Open(f.Model, EngineChoice.Onnx, 2, explain: 3);
        Assert.Equal("onnx", onnxPredictor.EngineName);
        var names = Enumerable.Range(0, f.Test.Count).Select(i => $"t{i}").ToArray();
        var a = torchPredictor.PredictRaw(f.Test.Inputs, names);
        using var reference = ModelBundle.Load(f.Model);   // TorchSharp maps, where the engines' boxes differ
        var b = onnxPredictor.PredictRaw(f.Test.Inputs, names);
        for (var i = 0; i < a.Count; i++)
        {
            var (x, y) = (a[i].Evidence!.Cast<PrototypeEvidence>().ToArray(), b[i].Evidence!.Cast<PrototypeEvidence>().ToArray());
            Assert.Equal(3, x.Length);
            Assert.Equal(x.Select(e => e.Prototype), y.Select(e => e.Prototype));
            for (var k = 0; k < 3; k++)
                CellSimilarity.AssertSameOrTied(reference, f.Test.Inputs, i, x[k].Prototype, x[k].ActivatedBox, y[k].ActivatedBox);
            Assert.Equal(x.Select(e => e.Source), y.Select(e => e.Source));
            // Near d = 0 the similarity log((d + 1) / (d + 1e-4)) turns float32 rounding of d (~1e-6 on
            // either engine) into ~1e-2 on a similarity of ~9, so contributions agree to 5e-3 relative.
            for (var k = 0; k < 3; k++)
                Assert.True(Math.Abs(x[k].Contribution - y[k].Contribution) <= 5e-3 * Math.Max(1, Math.Abs(x[k].Contribution)),
                    $"input {i} prototype {x[k].Prototype}: contribution {x[k].Contribution} (torch) vs {y[k].Contribution} (onnx), similarity {x[k].Similarity} vs {y[k].Similarity}");
            // The evidence is for the class the prediction names.
            Assert.Equal(a[i].Class, b[i].Class);
        }
        // A host's own predictor with an evidence source, in batches of 5: the same evidence.
        using var engine = InferenceEngines.Open(f.Model, EngineChoice.Torch, 2, out _);
        using var batched = new Predictor(engine) { BatchSize = 5, Evidence = new PrototypeEvidenceSource(f.Model, onnx: false) };
        var c = batched.PredictRaw(f.Test.Inputs, names);
        // The same prototypes; contributions as across engines above: oneDNN may pick other kernels for another
        // batch size, and near d = 0 the similarity turns that float32 rounding into ~1e-3 relative.
        for (var i = 0; i < a.Count; i++)
        {
            var (x, z) = (a[i].Evidence!.Cast<PrototypeEvidence>().ToArray(), c[i].Evidence!.Cast<PrototypeEvidence>().ToArray());
            Assert.Equal(x.Select(e => e.Prototype), z.Select(e => e.Prototype));
            for (var k = 0; k < x.Length; k++)
                Assert.True(Math.Abs(x[k].Contribution - z[k].Contribution) <= 5e-3 * Math.Max(1, Math.Abs(x[k].Contribution)),
                    $"input {i} prototype {x[k].Prototype}: contribution {x[k].Contribution} (one batch) vs {z[k].Contribution} (batches of 5)");
        }
        using var plain = Predictor.Open(f.Model, EngineChoice.Torch, 2);
        Assert.Null(plain.PredictRaw(f.Test.Inputs, names)[0].Evidence);
    }

    [Fact]
    public void ModelsWithoutPrototypesOrPictures_AreOneLineErrors()
    {
        using var dir = new TempDir();
        var description = new ModelDescription
        {
            Architecture = "cnn", Head = "linear", InputKind = Protea.Data.InputKind.Image, InputShape = [1, 12, 12],
            ClassNames = f.Train.ClassNames, Normalization = InputNormalization.Fit(f.Train.Inputs),
        };
        foreach (var head in new[] { "linear", PartsHead.Name })
        {
            var d = description with { Head = head };
            using var bundle = new ModelBundle(d, Architectures.Create(d));
            bundle.Save(dir.File(head));
        }
        var linear = CliRunner.Run("prototypes", "--model", dir.File("linear"), "--out", dir.File("g1"));
        Assert.Equal(2, linear.ExitCode);
        Assert.Contains("no prototypes", linear.Stderr);
        Assert.Single(linear.Stderr.Trim().Split('\n'));
        var unpushed = CliRunner.Run("prototypes", "--model", dir.File(PartsHead.Name), "--out", dir.File("g2"));
        Assert.Equal(2, unpushed.ExitCode);
        Assert.Contains("no prototype pictures", unpushed.Stderr);
        Assert.Single(unpushed.Stderr.Trim().Split('\n'));
        Assert.Throws<ProteaException>(() => Predictor.Open(dir.File("linear"), EngineChoice.Torch, 1, explain: 3));
        Assert.False(File.Exists(PrototypeGallery.PathIn(dir.File(PartsHead.Name))));
    }
}

/// <summary>`protea explain --method prototypes`: the registered explainer gives the same activation maps as the evidence path.</summary>
public sealed class PrototypeActivationTests(PartsEvidenceFixture f) : IClassFixture<PartsEvidenceFixture>
{
    [Fact]
    public void Explainer_MapOfThePredictedClass_IsTheEvidencePathsActivationMap()
    {
        using var bundle = ModelBundle.Load(f.Model);
        var model = new Protea.Explanations.ExplainedModel(bundle);
        using var raw = f.Test.Inputs.narrow(0, 0, 8);
        using var pixels = Protea.Explanations.ExplainedModel.Pixels(raw);
        using var logits = model.Logits(pixels);
        using var predicted = logits.argmax(1);
        var explainer = Protea.Explanations.Explainers.Create("prototypes");
        using var maps = explainer.Explain(model, pixels, predicted);
        // The oracle: PrototypeExplainer's own path (similarity maps read back, the top prototype by
        // contribution to the predicted logit, upsampled on the CPU side).
        using var expected = PrototypeExplainer.ActivationMaps(bundle, raw);
        Assert.Equal(expected.shape, maps.shape);
        var (a, b) = (maps.data<float>().ToArray(), expected.data<float>().ToArray());
        for (var i = 0; i < a.Length; i++) Assert.True(Math.Abs(a[i] - b[i]) <= 1e-3 * Math.Max(1, Math.Abs(b[i])), $"pixel {i}: {a[i]} vs {b[i]}");
    }

    [Fact]
    public void PrototypesApplyToPartsModelsOnly_SoEvaluatingAnotherModelLeavesThemOut()
    {
        var parts = ModelBundle.ReadDescription(f.Model);
        Assert.Contains("prototypes", Protea.Explanations.Explainers.For(parts));
        var linear = Protea.Explanations.Explainers.For(parts with { Head = "linear" });
        Assert.DoesNotContain("prototypes", linear);
        Assert.Contains("gradcam", linear);
    }

    [Fact]
    public void Cli_ExplainsWithPrototypes()
    {
        var r = CliRunner.Run("explain", "--model", f.Model, "--method", "prototypes", "--json", f.Images[0]);
        Assert.True(r.ExitCode == 0, r.Stderr);
        var rows = JsonDocument.Parse(r.Stdout).RootElement.GetProperty("explanations")[0].GetProperty("map");
        Assert.Equal(12, rows.GetArrayLength());
    }
}

/// <summary>The one-line per-class summary that training prints and report.md shows.</summary>
public sealed class PartsTrainingSummaryTests
{
    [Fact]
    public void PerClassLine_NamesEachClassWithItsCount()
    {
        var summary = new PartsTrainingSummary(20, 18, 2, 1, [9, 8], 1.5, 0.5);
        Assert.Equal("square 9, bar 8 (20 pushed, 18 distinct; merged 2, pruned 1)", summary.PerClassLine(["square", "bar"]));
    }
}

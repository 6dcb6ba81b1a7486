using Protea.Data;
using Protea.Incremental;
using Protea.Models;
using Protea.Tests.Support;
using Protea.Training;
using SkiaSharp;
using TorchSharp;
using static TorchSharp.torch;

namespace Protea.Tests.Incremental;

/// <summary>A small NCM model of three Fashion-MNIST classes (T-shirt, Trouser, Bag), trained once for the class.</summary>
public sealed class NcmModelFixture : IDisposable
{
    public static readonly int[] Known = [0, 1, 8];
    public const int NewClass = 7; // Sneaker

    public NcmModelFixture()
    {
        using var all = FashionMnist.Dataset(4000);
        using var train = all.SelectClasses(Known);
        torch.manual_seed(0);
        var options = new TrainOptions { Head = "ncm", Epochs = 2, BatchSize = 64, LearningRate = 0.05, ValidationFraction = 0 };
        using var bundle = new Trainer(options).Train(train, null).Bundle;
        Dir = new TempDir();
        bundle.Save(ModelDir);
    }

    public TempDir Dir { get; }
    public string ModelDir => Dir.File("model");

    /// <summary>A copy of the model in a fresh folder, for a test that changes it.</summary>
    public string CopyTo(TempDir dir)
    {
        var target = dir.File("model");
        Directory.CreateDirectory(target);
        foreach (var f in Directory.GetFiles(ModelDir)) File.Copy(f, Path.Combine(target, Path.GetFileName(f)));
        return target;
    }

    public void Dispose() => Dir.Dispose();
}

public class LearnClassTests(NcmModelFixture fixture) : IClassFixture<NcmModelFixture>
{
    private static Dictionary<string, byte[]> Snapshot(string dir) =>
        Directory.GetFiles(dir).ToDictionary(f => Path.GetFileName(f), File.ReadAllBytes);

    private static void WriteImages(string folder, Tensor images)
    {
        Directory.CreateDirectory(folder);
        for (var i = 0; i < images.shape[0]; i++)
        {
            var pixels = images[i].data<byte>().ToArray();
            TestImages.Write(Path.Combine(folder, $"{i}.png"), 28, 28, (x, y) => new SKColor(pixels[y * 28 + x], pixels[y * 28 + x], pixels[y * 28 + x]), gray: true);
        }
    }

    [Fact]
    public void Round_trip_predicts_the_new_class_and_keeps_old_scores()
    {
        using var dir = new TempDir();
        var modelDir = fixture.CopyTo(dir);
        using var test = FashionMnist.Dataset(2000, train: false);
        using var newTest = test.SelectClasses([NcmModelFixture.NewClass]);
        using var oldTest = test.SelectClasses(NcmModelFixture.Known);
        using var trainPool = FashionMnist.Dataset(500);
        using var sneakers = trainPool.SelectClasses([NcmModelFixture.NewClass]);
        WriteImages(dir.File("new"), sneakers.Inputs.narrow(0, 0, 5));

        float[] oldLogits;
        using (var before = ModelBundle.Load(modelDir))
            oldLogits = ClassifierInference.Logits(before.Model, before.Description.Normalization, oldTest.Inputs);

        Protea.Deploy.OnnxExporter.Export(modelDir);
        var classes = ClassLearner.ReadFolder(dir.File("new"), "Sneaker", ModelBundle.ReadDescription(modelDir));
        var result = ClassLearner.AddClasses(modelDir, classes, "ncm", oldTest);
        // The export beside the model was made again from the grown model, never left stale.
        Assert.Equal("re-exported", result.Onnx);
        Assert.Equal(Protea.Deploy.OnnxExportState.Current, Protea.Deploy.OnnxModelFile.State(modelDir));
        Assert.Equal(3, result.ClassesBefore);
        Assert.Equal(4, result.ClassesAfter);
        Assert.Equal(result.Moved, result.MovedToNewClass);

        using var after = ModelBundle.Load(modelDir);
        Assert.Equal(["T-shirt/top", "Trouser", "Bag", "Sneaker"], after.Description.ClassNames);
        var newLogits = ClassifierInference.Logits(after.Model, after.Description.Normalization, oldTest.Inputs);
        // Old classes' scores are exactly as before; an old item's prediction can only move to the new class.
        for (var i = 0; i < oldTest.Count; i++)
        {
            // Equal up to float rounding (a 4-column product sums in another order than a 3-column one).
            for (var c = 0; c < 3; c++) Assert.True(Math.Abs(oldLogits[i * 3 + c] - newLogits[i * 4 + c]) <= 1e-5 * Math.Max(1, Math.Abs(oldLogits[i * 3 + c])));
            var was = Enumerable.Range(0, 3).MaxBy(c => oldLogits[i * 3 + c]);
            var now = Enumerable.Range(0, 4).MaxBy(c => newLogits[i * 4 + c]);
            Assert.True(now == was || now == 3);
        }
        // Held-out sneakers (from the test split, not the 5 shots) are recognised well above chance (1/4).
        var predicted = TrainedMethod.ArgMax(after, newTest);
        var accuracy = predicted.Count(p => p == 3) / (double)predicted.Length;
        Assert.True(accuracy > 0.5, $"new-class accuracy {accuracy}");
    }

    [Fact]
    public void Teen_moves_new_prototypes_towards_old_ones_and_keeps_old_ones()
    {
        using var dir = new TempDir();
        var modelDir = fixture.CopyTo(dir);
        using var pool = FashionMnist.Dataset(500);
        using var sneakers = pool.SelectClasses([NcmModelFixture.NewClass]);
        using var shots = sneakers.Take(5);
        Tensor oldPrototypes;
        using (var before = ModelBundle.Load(modelDir)) oldPrototypes = ((NcmHead)before.Model.Head).Prototypes.clone();
        ClassLearner.AddClasses(modelDir, [new NewClass("Sneaker", shots.Inputs)], "teen");
        using var after = ModelBundle.Load(modelDir);
        var prototypes = ((NcmHead)after.Model.Head).Prototypes;
        Assert.True(prototypes.narrow(0, 0, 3).allclose(oldPrototypes));
        // The independent recomputation: mean of normalised embeddings, then the TEEN formula by hand.
        using var z = nn.functional.normalize(ClassifierInference.Embeddings(after.Model, after.Description.Normalization, shots.Inputs), dim: 1);
        using var mean = z.mean([0]);
        using var w = nn.functional.softmax(nn.functional.normalize(mean.unsqueeze(0), dim: 1).matmul(nn.functional.normalize(oldPrototypes, dim: 1).t()).mul(16), 1);
        using var expected = mean.mul(0.5).add(w.matmul(oldPrototypes).squeeze(0).mul(0.5));
        Assert.True(prototypes[3].allclose(expected, rtol: 1e-4, atol: 1e-5));
    }

    [Fact]
    public void Icarl_learns_the_new_class_from_exemplars_and_keeps_the_old_ones()
    {
        using var dir = new TempDir();
        var modelDir = fixture.CopyTo(dir);
        using var test = FashionMnist.Dataset(2000, train: false);
        using var newTest = test.SelectClasses([NcmModelFixture.NewClass]);
        using var oldTest = test.SelectClasses(NcmModelFixture.Known);
        using var pool = FashionMnist.Dataset(4000);
        using var oldData = pool.SelectClasses(NcmModelFixture.Known);
        using var sneakers = pool.SelectClasses([NcmModelFixture.NewClass]);
        using var shots = sneakers.Take(5);
        double oldAccuracy;
        using (var before = ModelBundle.Load(modelDir)) oldAccuracy = Accuracy(before, oldTest);

        var icarl = new IcarlLearning(oldData) { Memory = 200, Epochs = 2 };
        using (var model = ModelBundle.Load(modelDir))
        using (var exemplars = icarl.Exemplars(model, [.. model.Description.ClassNames, "Sneaker"]))
        {
            // 200 exemplars over 4 classes after growing: 50 of each old class, each a distinct item of that class.
            Assert.Equal(150, exemplars.Count);
            Assert.Equal([50, 50, 50], Enumerable.Range(0, 3).Select(c => exemplars.Labels.Count(l => l == c)));
            Assert.Equal(150, exemplars.Ids.Distinct().Count());
        }
        var result = ClassLearner.AddClasses(modelDir, [new NewClass("Sneaker", shots.Inputs)], "icarl", oldTest, icarl: icarl);
        Assert.Equal(4, result.ClassesAfter);

        using var after = ModelBundle.Load(modelDir);
        Assert.Equal(["T-shirt/top", "Trouser", "Bag", "Sneaker"], after.Description.ClassNames);
        var newAccuracy = TrainedMethod.ArgMax(after, newTest).Count(p => p == 3) / (double)newTest.Count;
        Assert.True(newAccuracy > 0.5, $"new-class accuracy {newAccuracy}");
        // Exemplars and distillation keep the old classes: within 10 points of before (plain fine-tuning on 5 images forgets them).
        var oldNow = Accuracy(after, oldTest);
        Assert.True(oldNow > oldAccuracy - 0.10, $"old-class accuracy {oldNow} vs {oldAccuracy} before");
    }

    [Fact]
    public void Icarl_needs_old_data_with_every_old_class()
    {
        using var dir = new TempDir();
        var modelDir = fixture.CopyTo(dir);
        var snapshot = Snapshot(modelDir);
        using var pool = FashionMnist.Dataset(500);
        using var sneakers = pool.SelectClasses([NcmModelFixture.NewClass]);
        using var shots = sneakers.Take(5);
        var e = Assert.Throws<ProteaException>(() => ClassLearner.AddClasses(modelDir, [new NewClass("Sneaker", shots.Inputs)], "icarl"));
        Assert.Equal("old_data", e.Field);
        using var partial = pool.SelectClasses([0, 1]);
        e = Assert.Throws<ProteaException>(() => ClassLearner.AddClasses(modelDir, [new NewClass("Sneaker", shots.Inputs)], "icarl", icarl: new IcarlLearning(partial)));
        Assert.Equal("old_data", e.Field);
        Assert.Contains("Bag", e.Message);
        foreach (var (name, bytes) in Snapshot(modelDir)) Assert.Equal(snapshot[name], bytes);
    }

    private static double Accuracy(ModelBundle bundle, Dataset data)
    {
        var labels = Protea.Predictions.ModelInputs.MapLabels(data, bundle.Description);
        var predicted = TrainedMethod.ArgMax(bundle, data);
        return predicted.Zip(labels).Count(p => p.First == p.Second) / (double)data.Count;
    }

    [Fact]
    public void Mistakes_are_refused_and_leave_the_model_untouched()
    {
        using var dir = new TempDir();
        var modelDir = fixture.CopyTo(dir);
        var snapshot = Snapshot(modelDir);
        var d = ModelBundle.ReadDescription(modelDir);
        using var pool = FashionMnist.Dataset(50);
        WriteImages(dir.File("ok"), pool.Inputs.narrow(0, 0, 3));

        // Name exists.
        var e = Assert.Throws<ProteaException>(() => ClassLearner.AddClasses(modelDir, ClassLearner.ReadFolder(dir.File("ok"), "Trouser", d)));
        Assert.Equal("name", e.Field);
        // Empty folder.
        Directory.CreateDirectory(dir.File("empty"));
        Assert.Throws<ProteaException>(() => ClassLearner.ReadFolder(dir.File("empty"), "x", d));
        // A file that is not an image.
        Directory.CreateDirectory(dir.File("text"));
        File.WriteAllText(dir.File("text/notes.txt"), "hello");
        Assert.Contains("not an image", Assert.Throws<ProteaException>(() => ClassLearner.ReadFolder(dir.File("text"), "x", d)).Message);
        // Colour images for a grayscale model.
        TestImages.Write(dir.File("colour/a.png"), 28, 28, (x, y) => new SKColor(200, 10, 10));
        Assert.Contains("colour", Assert.Throws<ProteaException>(() => ClassLearner.ReadFolder(dir.File("colour"), "x", d)).Message);
        // Images with 3 channels given to the library directly.
        using var rgb = zeros([2, 3, 28, 28], ScalarType.Byte);
        Assert.Contains("channels", Assert.Throws<ProteaException>(() => ClassLearner.AddClasses(modelDir, [new NewClass("x", rgb)])).Message);

        Assert.Equal(snapshot.Keys.Order(), Snapshot(modelDir).Keys.Order());
        foreach (var (name, bytes) in Snapshot(modelDir)) Assert.Equal(snapshot[name], bytes);
    }

    [Fact]
    public void An_interrupted_save_leaves_the_old_model_intact()
    {
        using var dir = new TempDir();
        var modelDir = fixture.CopyTo(dir);
        var snapshot = Snapshot(modelDir);
        using var old = ModelBundle.Load(modelDir);
        using var grown = ModelGrowth.Grow(old, ["extra"]);
        string? staging = null;
        Assert.Throws<IOException>(() => ClassLearner.Save(grown, modelDir, s => { staging = s; throw new IOException("disk full"); }));
        Assert.NotNull(staging);
        Assert.False(Directory.Exists(staging));
        foreach (var (name, bytes) in Snapshot(modelDir)) Assert.Equal(snapshot[name], bytes);
        Assert.Single(Directory.GetDirectories(dir.Path));
        using var reloaded = ModelBundle.Load(modelDir);
        Assert.Equal(3, reloaded.Description.NumClasses);
    }

    [Fact]
    public void Cli_learn_class_prints_one_line_errors()
    {
        using var dir = new TempDir();
        var modelDir = fixture.CopyTo(dir);
        Directory.CreateDirectory(dir.File("empty"));
        var r = CliRunner.Run("learn-class", "--model", modelDir, "--data", dir.File("empty"), "--name", "x");
        Assert.Equal(2, r.ExitCode);
        Assert.Single(r.Stderr.Trim().Split('\n'));
        using var pool = FashionMnist.Dataset(50);
        WriteImages(dir.File("new/Sneaker"), pool.Inputs.narrow(0, 0, 3));
        r = CliRunner.Run("learn-class", "--model", modelDir, "--data", dir.File("new"), "--method", "icarl");
        Assert.Equal(2, r.ExitCode);
        Assert.Contains("--old-data", r.Stderr);
        Assert.Single(r.Stderr.Trim().Split('\n'));
        r = CliRunner.Run("learn-class", "--model", modelDir, "--data", dir.File("new"), "--json");
        Assert.Equal(0, r.ExitCode);
        Assert.Contains("\"classes_after\": 4", r.Stdout);
    }
}

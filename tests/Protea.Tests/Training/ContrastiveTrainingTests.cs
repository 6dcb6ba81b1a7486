using System.Text.Json;
using Protea.Models;
using Protea.Tests.Support;
using Protea.Training;
using Protea.Training.Objectives;
using static TorchSharp.torch;

namespace Protea.Tests.Training;

/// <summary>Contrastive objectives end to end: training runs, the projection head is dropped, saved models keep their tensor names.</summary>
public sealed class ContrastiveTrainingTests
{
    private static readonly TrainOptions Small = new()
    {
        Epochs = 1, BatchSize = 32, LearningRate = 0.05, Schedule = "onecycle", ValidationFraction = 0, Seed = 3, Threads = 2,
    };

    private static string[] Names(string modelDir)
    {
        var tensors = SafeTensors.Read(Path.Combine(modelDir, "model.safetensors"));
        try { return tensors.Keys.Order(StringComparer.Ordinal).ToArray(); }
        finally { foreach (var t in tensors.Values) t.Dispose(); }
    }

    [Fact]
    public void SupConPlusCe_OnImages_SavesExactlyTheModelTensorsOfCe_AndLoadsBack()
    {
        using var dir = new TempDir();
        using var data = FashionMnist.Dataset(64);
        manual_seed(1);
        using (var ce = new Trainer(Small).Train(data, null).Bundle) ce.Save(dir.File("ce"));
        manual_seed(1);
        var supCon = new SupConObjective();
        var result = new Trainer(Small with { Objective = "supcon+ce" }) { Objectives = [supCon, new CrossEntropyObjective()] }.Train(data, null);
        using (var bundle = result.Bundle) bundle.Save(dir.File("supcon"));
        Assert.True(double.IsFinite(result.Epochs[0].TrainLoss));
        // The projection head trained (it is attached, with its own weights) but is not in the model.
        Assert.NotNull(supCon.Projection);
        Assert.DoesNotContain(Names(dir.File("supcon")), n => n.Contains("projection") || n.Contains("supcon"));
        Assert.Equal(Names(dir.File("ce")), Names(dir.File("supcon")));
        using var loaded = ModelBundle.Load(dir.File("supcon"));
        Assert.Equal("supcon+ce", loaded.Description.Recipe!["objective"]!.GetValue<string>());
    }

    [Fact]
    public void SupConAlone_TrainsTheBackboneByContrast_AndTheHeadOnDetachedEmbeddings()
    {
        using var data = FashionMnist.Dataset(64);
        manual_seed(2);
        using var bundle = new Trainer(Small with { Objective = "supcon", Epochs = 2 }).Train(data, null).Bundle;
        manual_seed(2);
        using var fresh = Architectures.Create(bundle.Description);
        // Both parts moved away from their initial weights: the backbone by SupCon, the head by CE on detached embeddings.
        foreach (var part in new[] { "backbone.", "head." })
        {
            var trained = bundle.Model.named_parameters().Where(p => p.name.StartsWith(part, StringComparison.Ordinal)).ToList();
            var initial = fresh.state_dict();
            Assert.NotEmpty(trained);
            Assert.Contains(trained, p => !p.parameter.allclose(initial[p.name]));
        }
    }

    [Fact]
    public void DetachedHead_SendsNoGradientIntoTheBackbone()
    {
        using var data = FashionMnist.Dataset(16);
        manual_seed(5);
        using var bundle = new Trainer(Small).Train(data, null).Bundle;
        var model = bundle.Model;
        model.train();
        model.zero_grad(); // the training run leaves its last step's gradients
        using var x = data.Inputs.to(float32).div(255);
        using var y = tensor(data.Labels);
        var (logits, embedding) = model.ForwardBoth(x);
        using var loss = new DetachedHeadObjective().Loss(new TrainingBatch(x, y), new ModelOutputs(model, logits, embedding));
        loss.backward();
        foreach (var (name, p) in model.named_parameters())
        {
            var g = p.grad;
            if (name.StartsWith("backbone.", StringComparison.Ordinal))
                Assert.True(g is null || g.abs().sum().item<float>() == 0, name);
            else
                Assert.True(g is not null && g.abs().sum().item<float>() > 0, name);
        }
    }

    [Fact]
    public void SimClrWithNcm_FitsClassMeansAfterTraining()
    {
        using var data = FashionMnist.Dataset(64);
        manual_seed(4);
        using var bundle = new Trainer(Small with { Objective = "simclr", Head = "ncm" }).Train(data, null).Bundle;
        Assert.Equal("ncm", bundle.Description.Head);
        Assert.Equal("ncm", bundle.Model.Head.Kind);
    }

    [Fact]
    public void ContrastiveObjective_RefusesMixedBatches()
    {
        using var data = FashionMnist.Dataset(64);
        var e = Assert.Throws<ProteaException>(() => new Trainer(Small with { Objective = "supcon+ce", MixupAlpha = 0.4 }).Train(data, null));
        Assert.Equal("objective", e.Field);
        Assert.Contains("mixed", e.Message);
    }

    [Fact]
    public void Cli_SupConPlusCe_OnATable_TrainsSavesExportsAndBothEnginesAgree()
    {
        using var dir = new TempDir();
        var csv = dir.File("iris.csv");
        File.Copy(TestData.IrisCsv, csv);
        var model = dir.File("model");
        var train = CliRunner.Run("train", "--data", csv, "--label", "species", "--arch", "mlp", "--epochs", "40", "--batch-size", "32",
            "--lr", "0.05", "--validation", "0", "--objective", "supcon:1+ce:1", "--temperature", "0.2", "--out", model, "--json", "--threads", "2");
        Assert.True(train.ExitCode == 0, train.Stderr);
        var ce = CliRunner.Run("train", "--data", csv, "--label", "species", "--arch", "mlp", "--epochs", "1",
            "--validation", "0", "--out", dir.File("ce"), "--json", "--threads", "2");
        Assert.True(ce.ExitCode == 0, ce.Stderr);
        Assert.Equal(Names(dir.File("ce")), Names(model));

        Assert.Equal(0, CliRunner.Run("export", "--model", model, "--format", "onnx").ExitCode);
        double Accuracy(string engine)
        {
            var r = CliRunner.Run("eval", "--model", model, "--data", csv, "--label", "species", "--engine", engine, "--json");
            Assert.True(r.ExitCode == 0, r.Stderr);
            using var doc = JsonDocument.Parse(r.Stdout);
            return doc.RootElement.GetProperty("accuracy").GetDouble();
        }
        var torchAccuracy = Accuracy("torch");
        Assert.True(torchAccuracy > 0.8, $"accuracy {torchAccuracy}");
        Assert.Equal(torchAccuracy, Accuracy("onnx"), 1e-9);
    }

    [Fact]
    public void Cli_NamesTheObjectiveFlag_InItsErrors()
    {
        using var dir = new TempDir();
        var csv = dir.File("iris.csv");
        File.Copy(TestData.IrisCsv, csv);
        var r = CliRunner.Run("train", "--data", csv, "--label", "species", "--arch", "mlp", "--epochs", "1", "--objective", "arcface",
            "--out", dir.File("run"), "--threads", "2");
        Assert.Equal(2, r.ExitCode);
        Assert.Contains("--objective: objective 'arcface' is not known", r.Stderr);
        Assert.Single(r.Stderr.Trim().Split('\n'));
    }
}

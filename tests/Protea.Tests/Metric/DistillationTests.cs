using System.Text.Json;
using Protea.Models;
using Protea.Runs;
using Protea.Tests.Search;
using Protea.Tests.Support;
using Protea.Training.Objectives;
using static TorchSharp.torch;

namespace Protea.Tests.Metric;

/// <summary>Distillation losses against PyTorch, and `protea distill` end to end.</summary>
public sealed class DistillationTests
{
    // Hinton et al.'s soft-target term as PyTorch users write it (F.kl_div on log-probabilities,
    // batchmean, times T^2), and the feature term from its definition; gradients by autograd.
    private const string Reference = """
        import sys, json, torch
        import torch.nn.functional as F
        torch.set_default_dtype(torch.float64)
        a = json.load(open(sys.argv[1]))
        n, k, t = a["n"], a["k"], a["t"]
        s = torch.tensor(a["s"]).reshape(n, k).requires_grad_(True)
        te = torch.tensor(a["te"]).reshape(n, k)
        kd = F.kl_div(F.log_softmax(s / t, dim=1), F.softmax(te / t, dim=1), reduction="batchmean") * t * t
        kd.backward()
        gs = s.grad.flatten().tolist()
        p = torch.tensor(a["s"]).reshape(n, k).requires_grad_(True)
        feat = ((p / p.norm(dim=1, keepdim=True) - te / te.norm(dim=1, keepdim=True)) ** 2).sum(1).mean()
        feat.backward()
        print(json.dumps({"kd": kd.item(), "gs": gs, "feat": feat.item(), "gp": p.grad.flatten().tolist()}))
        """;

    private static double[] Fixed(int count, int salt) =>
        Enumerable.Range(0, count).Select(i => 3 * Math.Sin(1.1 * i + salt) + Math.Cos(0.3 * i * salt)).ToArray();

    [Theory]
    [InlineData(1.0)]
    [InlineData(4.0)]
    public void SoftTargetAndFeatureLosses_MatchPyTorch(double temperature)
    {
        const int n = 6, k = 5;
        var s = Fixed(n * k, 1);
        var te = Fixed(n * k, 2);
        using var dir = new TempDir();
        File.WriteAllText(dir.File("in.json"), JsonSerializer.Serialize(new { n, k, t = temperature, s, te }));
        using var doc = JsonDocument.Parse(Python.Run(Reference, dir.File("in.json")));
        var r = doc.RootElement;

        using var student = tensor(s).reshape(n, k).requires_grad_(true);
        using var teacher = tensor(te).reshape(n, k);
        using var kd = DistillationObjective.Compute(student, teacher, temperature);
        kd.backward();
        Assert.True(r.GetProperty("kd").GetDouble() > 0.1);
        Assert.Equal(r.GetProperty("kd").GetDouble(), kd.item<double>(), 1e-9);
        AssertClose(r.GetProperty("gs"), student.grad!.data<double>().ToArray());

        using var projected = tensor(s).reshape(n, k).requires_grad_(true);
        using var feat = FeatureDistillationObjective.Compute(projected, teacher);
        feat.backward();
        Assert.Equal(r.GetProperty("feat").GetDouble(), feat.item<double>(), 1e-9);
        AssertClose(r.GetProperty("gp"), projected.grad!.data<double>().ToArray());
    }

    [Fact]
    public void SoftTargets_OfTheTeacherItself_CostNothing()
    {
        using var logits = tensor(Fixed(12, 3)).reshape(3, 4);
        using var kd = DistillationObjective.Compute(logits, logits, 2);
        Assert.Equal(0, kd.item<double>(), 1e-12);
    }

    [Fact]
    public void DistillCli_TrainsAHalfWidthStudent_WithTheTeachersNormalisation_AndNoExtraTensors()
    {
        using var dir = new TempDir();
        var teacher = SearchFixture.SaveModel(dir.File("teacher"), seed: 3);
        var r = CliRunner.Run("distill", "--teacher", teacher, "--data", "fashion-mnist", "--limit", "128", "--validation", "0", "--width", "0.5",
            "--epochs", "1", "--batch-size", "32", "--feature-distill", "--threads", "2", "--json", "--out", dir.File("student"));
        Assert.True(r.ExitCode == 0, r.Stderr);
        using var student = ModelBundle.Load(dir.File("student"));
        using var t = ModelBundle.Load(teacher);
        Assert.Equal(0.5, student.Description.Width);
        Assert.Equal(64, student.Model.Backbone.EmbeddingDim);
        Assert.Equal(t.Description.Normalization.Mean, student.Description.Normalization.Mean);
        Assert.Equal(t.Description.Normalization.Std, student.Description.Normalization.Std);
        Assert.Equal(Names(teacher), Names(dir.File("student")));
        Assert.Equal("distill+ce+feature_distill", student.Description.Recipe!["objective"]!.GetValue<string>());
    }

    [Fact]
    public void DistillCli_BadInputs_AreOneLineErrors()
    {
        using var dir = new TempDir();
        var teacher = SearchFixture.SaveModel(dir.File("teacher"), seed: 3);
        var missing = CliRunner.Run("distill", "--teacher", dir.File("none"), "--data", "fashion-mnist", "--out", dir.File("s"));
        Assert.Equal(2, missing.ExitCode);
        Assert.StartsWith("protea: --teacher: ", missing.Stderr);
        Assert.Single(missing.Stderr.Trim().Split('\n'));
        var alpha = CliRunner.Run("distill", "--teacher", teacher, "--data", "fashion-mnist", "--alpha", "1.5", "--limit", "64", "--out", dir.File("s"));
        Assert.Equal(2, alpha.ExitCode);
        Assert.Contains("--alpha: the soft-target weight 1.5", alpha.Stderr);
        var width = CliRunner.Run("distill", "--teacher", teacher, "--data", "fashion-mnist", "--width", "0", "--limit", "64", "--out", dir.File("s"));
        Assert.Equal(2, width.ExitCode);
        Assert.Contains("--width: width multiplier 0", width.Stderr);
        var classes = CliRunner.Run("distill", "--teacher", teacher, "--data", SearchDataWithTwoClasses(dir), "--limit", "64", "--validation", "0", "--out", dir.File("s"));
        Assert.Equal(2, classes.ExitCode);
        Assert.Contains("are not the teacher's", classes.Stderr);
    }

    private static string SearchDataWithTwoClasses(TempDir dir)
    {
        var root = dir.File("two");
        SearchFixture.WriteImageFolder(root, 12);
        return root;
    }

    private static string[] Names(string modelDir)
    {
        var tensors = SafeTensors.Read(Path.Combine(modelDir, "model.safetensors"));
        try { return tensors.Keys.Order(StringComparer.Ordinal).ToArray(); }
        finally { foreach (var v in tensors.Values) v.Dispose(); }
    }

    private static void AssertClose(JsonElement expected, double[] actual)
    {
        var e = expected.EnumerateArray().Select(v => v.GetDouble()).ToArray();
        Assert.Equal(e.Length, actual.Length);
        for (var i = 0; i < e.Length; i++)
            Assert.True(Math.Abs(e[i] - actual[i]) <= 1e-9 + 1e-7 * Math.Abs(e[i]), $"element {i}: expected {e[i]}, got {actual[i]}");
    }
}

using System.Text.Json;
using Protea.Models;
using Protea.Prototypes;
using Protea.Tests.Support;
using Protea.Training;
using static TorchSharp.torch;

namespace Protea.Tests.Prototypes;

/// <summary>
/// The convex last-layer fit against an independent solver (SciPy's L-BFGS-B on the same objective, the
/// wrong-class connections split into positive and negative parts so the L1 term is smooth and bounded)
/// and against its optimality conditions.
/// </summary>
public sealed class LastLayerFitTests
{
    private const string Oracle = """
        import sys, json, numpy as np
        from scipy.optimize import minimize
        from scipy.special import logsumexp
        a = json.load(open(sys.argv[1]))
        S = np.array(a["s"]).reshape(a["n"], a["p"]); y = np.array(a["labels"]); K = a["k"]; P = a["p"]; l1 = a["l1"]
        own = np.zeros((K, P), bool)
        for j, c in enumerate(a["classes"]): own[c, j] = True
        nw = int((~own).sum())
        def unpack(x):
            W = np.zeros((K, P)); W[own] = x[:P]; W[~own] = x[P:P + nw] - x[P + nw:]; return W
        def f(x):
            W = unpack(x); Z = S @ W.T; lse = logsumexp(Z, axis=1)
            ce = np.mean(lse - Z[np.arange(len(y)), y])
            G = (np.exp(Z - lse[:, None]) - np.eye(K)[y]).T @ S / len(y)
            g = np.concatenate([G[own], G[~own] + l1, -G[~own] + l1])
            return ce + l1 * x[P:].sum(), g
        W0 = np.array(a["w0"]).reshape(K, P)
        x0 = np.concatenate([W0[own], np.maximum(W0[~own], 0), np.maximum(-W0[~own], 0)])
        bounds = [(None, None)] * P + [(0, None)] * (2 * nw)
        r = minimize(f, x0, jac=True, method="L-BFGS-B", bounds=bounds, options={"maxiter": 20000, "ftol": 1e-15, "gtol": 1e-12})
        print(json.dumps({"loss": float(r.fun), "w": unpack(r.x).reshape(-1).tolist()}))
        """;

    // A small problem with signal but not separable: similarities in [0, 4], own-class prototypes a little
    // more similar to the images of their class, 20 % of the labels flipped.
    private static (Tensor S, long[] Labels, int[] Classes, Tensor Identity) Problem(int n, int seed)
    {
        int[] classes = [0, 0, 1, 1, 2, 2];
        var g = new Random(seed);
        var labels = Enumerable.Range(0, n).Select(_ => (long)g.Next(3)).ToArray();
        var s = new float[n * classes.Length];
        for (var i = 0; i < n; i++)
            for (var j = 0; j < classes.Length; j++)
                s[i * classes.Length + j] = (float)(g.NextDouble() * 3 + (classes[j] == labels[i] ? 1 : 0));
        for (var i = 0; i < n; i++) if (g.NextDouble() < 0.2) labels[i] = g.Next(3);
        var identity = new float[3 * classes.Length];
        for (var j = 0; j < classes.Length; j++) identity[classes[j] * classes.Length + j] = 1;
        return (tensor(s).reshape(n, classes.Length), labels, classes, tensor(identity).reshape(3, classes.Length));
    }

    private static Tensor Init(Tensor identity) => identity.mul(1.5).sub(0.5);

    [Fact]
    public void Fit_ReachesTheSameMinimumAsScipy()
    {
        var (s, labels, classes, identity) = Problem(300, 3);
        using (s) using (identity)
        using (var w0 = Init(identity))
        {
            const double l1 = 0.01;
            using var w = LastLayerTuning.Fit(s, labels, w0, identity, l1, 20000, out var fit);
            using var dir = new TempDir();
            var input = dir.File("problem.json");
            File.WriteAllText(input, JsonSerializer.Serialize(new
            {
                s = s.data<float>().ToArray().Select(v => (double)v).ToArray(), n = 300, p = classes.Length, k = 3, labels, classes, l1,
                w0 = w0.data<float>().ToArray(),
            }));
            using var doc = JsonDocument.Parse(Python.Run(Oracle, input));
            var expectedLoss = doc.RootElement.GetProperty("loss").GetDouble();
            var expectedW = doc.RootElement.GetProperty("w").EnumerateArray().Select(e => e.GetDouble()).ToArray();
            Assert.True(fit.Converged, $"not converged in {fit.Steps} steps");
            Assert.Equal(expectedLoss, fit.FinalLoss, 1e-6);
            Assert.Equal(expectedLoss, LastLayerTuning.Loss(s, labels, w, identity, l1), 1e-6);
            // The weights may move along a nearly flat direction; the predicted probabilities may not.
            using var theirs = tensor(expectedW).reshape(3, classes.Length).to(float32);
            using var p = nn.functional.softmax(matmul(s, w.T), 1);
            using var q = nn.functional.softmax(matmul(s, theirs.T), 1);
            var worst = p.sub(q).abs().max().item<float>();
            Assert.True(worst < 1e-3, $"probabilities differ from SciPy's by {worst:g3} (loss {fit.FinalLoss} against {expectedLoss})");
            Assert.True(fit.FinalLoss < fit.InitialLoss - 0.01, $"{fit.InitialLoss} -> {fit.FinalLoss}");
        }
    }

    [Fact]
    public void Fit_MeetsTheOptimalityConditions_AndZeroesSmallWrongClassConnections()
    {
        // At the minimum of mean CE + l1 |wrong-class W|: own-class gradient 0; a wrong-class entry at 0 has
        // |gradient| <= l1; a non-zero one has gradient = -l1 sign(w).
        var (s, labels, _, identity) = Problem(400, 8);
        using (s) using (identity)
        using (var w0 = Init(identity))
        {
            const double l1 = 0.02;
            using var w = LastLayerTuning.Fit(s, labels, w0, identity, l1, 20000, out var fit);
            Assert.True(fit.Converged);
            using var wp = w.to(float64).requires_grad_();
            using var y = tensor(labels);
            using (var ce = nn.functional.cross_entropy(matmul(s.to(float64), wp.T), y)) ce.backward();
            var grad = wp.grad!.data<double>().ToArray();
            var weights = w.data<float>().ToArray();
            var own = identity.data<float>().ToArray();
            var zeros = 0;
            for (var i = 0; i < grad.Length; i++)
            {
                if (own[i] == 1) Assert.True(Math.Abs(grad[i]) < 1e-4, $"own-class gradient {grad[i]}");
                else if (weights[i] == 0) { zeros++; Assert.True(Math.Abs(grad[i]) <= l1 + 1e-4, $"gradient {grad[i]} at a zero connection"); }
                else Assert.True(Math.Abs(grad[i] + l1 * Math.Sign(weights[i])) < 1e-4, $"gradient {grad[i]} at connection {weights[i]}");
            }
            Assert.True(zeros > 0, "an L1 of 0.02 should zero some wrong-class connections");
        }
    }

    [Fact]
    public void Fit_WithNoSteps_KeepsTheInitialWeight_AndNeverRaisesTheLoss()
    {
        var (s, labels, _, identity) = Problem(100, 5);
        using (s) using (identity)
        using (var w0 = Init(identity))
        {
            using var same = LastLayerTuning.Fit(s, labels, w0, identity, 1e-4, 0, out var none);
            Assert.True(same.eq(w0).all().item<bool>());
            Assert.Equal((0, none.InitialLoss), (none.Steps, none.FinalLoss));
            using var few = LastLayerTuning.Fit(s, labels, w0, identity, 1e-4, 5, out var five);
            Assert.Equal(5, five.Steps);
            Assert.True(five.FinalLoss <= five.InitialLoss);
        }
    }

    [Fact]
    public void LastLayerAtScaleZero_KeepsItsStartThroughTheEpochs_AndTheStageStillFitsIt()
    {
        TrainingResult Train(double scale, IReadOnlyList<Protea.Training.Stages.IStage>? stages)
        {
            using var data = Shapes.Make(64, seed: 4);
            var options = new TrainOptions
            {
                Architecture = "cnn", Head = PartsHead.Name, Epochs = 1, BatchSize = 32, LearningRate = 0.1, ValidationFraction = 0, Seed = 5, Threads = 2,
                Parts = new PartsOptions { PrototypesPerClass = 2, PrototypeDim = 8, LastLayerLearningRateScale = scale },
            };
            manual_seed(5);
            var trainer = stages is null ? new Trainer(options) : new Trainer(options) { Stages = stages };
            return trainer.Train(data, null);
        }
        // The head's groups: by default the last layer is frozen through the epochs; at 0.5 it has its own group.
        using (var model = new Classifier(new ReferenceCnn(1), PartsHead.PerClass(128, 3, 8, 2)))
        {
            var spec = Registry.Heads.Get(PartsHead.Name).ParameterGroups!;
            var o = new TrainOptions { LearningRate = 0.1, Parts = new PartsOptions() };
            var groups = ParameterGroup.Assign(model, spec(o), o);
            Assert.DoesNotContain(groups, g => g.Parameters.Any(p => p.Name == "head.last_layer.weight"));
            Assert.False(model.named_parameters().Single(p => p.name == "head.last_layer.weight").parameter.requires_grad);
            var half = o with { Parts = new PartsOptions { LastLayerLearningRateScale = 0.5 } };
            var own = Assert.Single(ParameterGroup.Assign(model, spec(half), half), g => g.Parameters.Any(p => p.Name == "head.last_layer.weight"));
            Assert.Equal(0.5, own.LearningRateScale);
        }
        using (var frozen = Train(0, []).Bundle)
        {
            var head = (PartsHead)frozen.Model.Head;
            using var identity = head.ClassIdentity();
            using var start = identity.mul(1.5).sub(0.5);
            Assert.True(head.LastLayerWeight.eq(start).all().item<bool>(), "at scale 0 the last layer must keep +1 / -0.5 through the epochs");
        }
        using (var learning = Train(1, []).Bundle)
        {
            var head = (PartsHead)learning.Model.Head;
            using var identity = head.ClassIdentity();
            using var start = identity.mul(1.5).sub(0.5);
            Assert.False(head.LastLayerWeight.eq(start).all().item<bool>(), "at scale 1 the last layer must learn");
        }
        // With the head's own stages, push and the convex fit still change the frozen layer, and say what the fit did.
        using (var staged = Train(0, null).Bundle)
        {
            var head = (PartsHead)staged.Model.Head;
            using var identity = head.ClassIdentity();
            using var start = identity.mul(1.5).sub(0.5);
            Assert.False(head.LastLayerWeight.eq(start).all().item<bool>(), "the last-layer stage must fit the layer");
            Assert.NotNull(head.Summary?.LastLayerSteps);
            Assert.True(head.Summary!.LastLayerSteps > 0);
        }
    }

    [Theory]
    [InlineData("--last-layer-steps", "-1", "last-layer steps")]
    [InlineData("--last-layer-lr-scale", "-0.5", "last-layer learning-rate scale")]
    [InlineData("--prune-k", "-2", "pruning")]
    public void Train_RefusesBadLastLayerAndPruningSettings_InOneLine(string flag, string value, string words)
    {
        using var dir = new TempDir();
        var r = CliRunner.Run("train", "--data", "fashion-mnist", "--limit", "20", "--arch", "cnn", "--head", "parts", "--epochs", "1",
            "--out", dir.File("run"), flag, value);
        Assert.Equal(2, r.ExitCode);
        var line = Assert.Single(r.Stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.StartsWith($"protea: {flag}:", line);
        Assert.Contains(words, line);
        Assert.Contains(value, line);
    }
}

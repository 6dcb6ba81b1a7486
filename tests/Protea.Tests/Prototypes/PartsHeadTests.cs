using System.Text.Json;
using Protea.Data;
using Protea.Models;
using Protea.Prototypes;
using Protea.Tests.Support;
using Protea.Training;
using TorchSharp;
using static TorchSharp.torch;

namespace Protea.Tests.Prototypes;

/// <summary>The parts head's maths against the ProtoPNet reference code run on Debian's PyTorch, and push against a brute-force oracle.</summary>
public sealed class PartsHeadTests
{
    // ProtoPNet's own code (model.py: _l2_convolution, prototype_distances, distance_2_similarity;
    // main/train_and_test.py: cluster and separation costs, the last layer's L1 mask).
    private const string Reference = """
        import sys, json, torch
        import torch.nn.functional as F
        a = json.load(open(sys.argv[1]))
        T = lambda k: torch.tensor(a[k], dtype=torch.float64)
        fmap = T("fmap").reshape(a["fshape"])
        w1, b1, w2, b2 = T("w1").reshape(a["w1shape"]), T("b1"), T("w2").reshape(a["w2shape"]), T("b2")
        protos = T("protos").reshape(a["pshape"]).requires_grad_()
        last = T("last").reshape(a["lshape"])
        labels = torch.tensor(a["labels"])
        identity = torch.zeros(protos.shape[0], last.shape[0], dtype=torch.float64)
        for j, c in enumerate(a["classes"]): identity[j, c] = 1
        x = torch.sigmoid(F.conv2d(F.relu(F.conv2d(fmap, w1, b1)), w2, b2))
        ones = torch.ones_like(protos)
        x2_patch_sum = F.conv2d(x ** 2, weight=ones)
        p2 = torch.sum(protos ** 2, dim=(1, 2, 3)).view(-1, 1, 1)
        xp = F.conv2d(x, weight=protos)
        distances = F.relu(x2_patch_sum + (-2 * xp + p2))
        h, w = distances.shape[2], distances.shape[3]
        min_distances = -F.max_pool2d(-distances, kernel_size=(h, w)).view(-1, protos.shape[0])
        sim = torch.log((min_distances + 1) / (min_distances + 1e-4))
        logits = sim @ last.t()
        max_dist = protos.shape[1] * protos.shape[2] * protos.shape[3]
        correct = torch.t(identity[:, labels])
        inv, _ = torch.max((max_dist - min_distances) * correct, dim=1)
        cluster = torch.mean(max_dist - inv)
        inv_wrong, _ = torch.max((max_dist - min_distances) * (1 - correct), dim=1)
        separation = torch.mean(max_dist - inv_wrong)
        l1 = (last * (1 - torch.t(identity))).norm(p=1)
        (0.8 * cluster - 0.08 * separation).backward()
        out = lambda t: t.detach().reshape(-1).tolist()
        print(json.dumps({"distances": out(distances), "min": out(min_distances), "sim": out(sim), "logits": out(logits),
            "cluster": cluster.item(), "separation": separation.item(), "l1": l1.item(), "grad": out(protos.grad)}))
        """;

    private static float[] Values(Tensor t) { using var c = t.detach().contiguous().to(float32); return c.data<float>().ToArray(); }

    private static void Close(IReadOnlyList<double> expected, float[] actual, double tolerance, string what)
    {
        Assert.Equal(expected.Count, actual.Length);
        var worst = expected.Select((e, i) => Math.Abs(e - actual[i]) / Math.Max(1, Math.Abs(e))).Max();
        Assert.True(worst <= tolerance, $"{what}: relative difference {worst:g3}");
    }

    [Fact]
    public void DistancesSimilarityClusterAndSeparation_MatchProtoPNetOnPyTorch()
    {
        manual_seed(11);
        int[] classes = [0, 0, 1, 1, 2, 2];
        using var head = new PartsHead(channels: 6, numClasses: 3, prototypeDim: 4, classes);
        head.train();
        using var scope = NewDisposeScope();
        var fmap = randn(5, 6, 3, 4);
        long[] labels = [0, 1, 2, 1, 0];
        var state = head.state_dict();
        using var dir = new TempDir();
        var input = dir.File("input.json");
        File.WriteAllText(input, JsonSerializer.Serialize(new
        {
            fmap = Values(fmap), fshape = fmap.shape,
            w1 = Values(state["add_on_1.weight"]), w1shape = state["add_on_1.weight"].shape, b1 = Values(state["add_on_1.bias"]),
            w2 = Values(state["add_on_2.weight"]), w2shape = state["add_on_2.weight"].shape, b2 = Values(state["add_on_2.bias"]),
            protos = Values(state["prototype_vectors"]), pshape = state["prototype_vectors"].shape,
            last = Values(state["last_layer.weight"]), lshape = state["last_layer.weight"].shape,
            labels, classes,
        }));
        using var doc = JsonDocument.Parse(Python.Run(Reference, input));
        var r = doc.RootElement;
        double[] Get(string k) => r.GetProperty(k).EnumerateArray().Select(e => e.GetDouble()).ToArray();

        var distances = head.Distances(fmap);
        var min = head.MinDistances(fmap);
        var logits = head.forward(fmap);
        Close(Get("distances"), Values(distances), 1e-5, "distances");
        Close(Get("min"), Values(min), 1e-5, "min distances");
        Close(Get("sim"), Values(PartsHead.Similarity(min)), 1e-5, "similarities");
        Close(Get("logits"), Values(logits), 1e-5, "logits");
        using var y = tensor(labels);
        var mask = head.ClassIdentity().index_select(0, y);
        var cluster = PrototypeCosts.Cluster(min, mask, head.PrototypeDim);
        var separation = PrototypeCosts.Separation(min, mask, head.PrototypeDim);
        Assert.Equal(r.GetProperty("cluster").GetDouble(), cluster.item<float>(), 1e-5);
        Assert.Equal(r.GetProperty("separation").GetDouble(), separation.item<float>(), 1e-5);
        Assert.Equal(r.GetProperty("l1").GetDouble(), PrototypeCosts.WrongClassL1(head.LastLayerWeight, head.ClassIdentity()).item<float>(), 1e-5);
        // The costs' gradient with respect to the prototypes, as the loss the trainer sums.
        cluster.mul(0.8).add(separation.mul(-0.08)).backward();
        Close(Get("grad"), Values(head.PrototypeVectors.grad!), 1e-4, "prototype gradient");
        // Similarity is decreasing in distance and large at 0: log(1 / 1e-4).
        Assert.Equal(Math.Log(1e4), PartsHead.Similarity(zeros(1)).item<float>(), 1e-3);
    }

    [Fact]
    public void LastLayer_StartsAtPlusOneForOwnClassAndMinusHalfForOthers()
    {
        using var head = PartsHead.PerClass(8, 3, 4, 2);
        var w = head.LastLayerWeight.detach();
        for (var k = 0; k < 3; k++)
            for (var j = 0; j < 6; j++)
                Assert.Equal(j / 2 == k ? 1f : -0.5f, w[k, j].item<float>());
    }

    [Fact]
    public void PrototypeVectors_TrainInTheHeadsOwnGroup_AtTheirScaleWithoutWeightDecay()
    {
        var o = new TrainOptions { LearningRate = 0.1, WeightDecay = 5e-4, Parts = new PartsOptions { PrototypeLearningRateScale = 3, LastLayerLearningRateScale = 1 } };
        using var model = new Classifier(new ReferenceCnn(1), PartsHead.PerClass(128, 3, 8, 2));
        var groups = ParameterGroup.Assign(model, Registry.Heads.Get(PartsHead.Name).ParameterGroups!(o), o);
        var own = Assert.Single(groups, g => g.Parameters.Any(p => p.Name == "head.prototype_vectors"));
        Assert.Equal(["head.prototype_vectors"], own.Parameters.Select(p => p.Name));
        Assert.Equal((0.0, 3.0), (own.WeightDecay, own.LearningRateScale));
        Assert.Contains(groups, g => g.Parameters.Any(p => p.Name == "head.last_layer.weight") && g.WeightDecay == 5e-4 && g.LearningRateScale == 1);

        // Through the trainer: at scale 0 the prototypes keep their (seeded) start whatever the run's rate, while the rest learns.
        Tensor Train(double lr, double scale, out Tensor lastLayer)
        {
            using var data = Shapes.Make(64, seed: 4);
            var options = new TrainOptions
            {
                Architecture = "cnn", Head = PartsHead.Name, Epochs = 1, BatchSize = 32, LearningRate = lr, ValidationFraction = 0, Seed = 5, Threads = 2,
                Parts = new PartsOptions { PrototypesPerClass = 2, PrototypeDim = 8, PrototypeLearningRateScale = scale, LastLayerLearningRateScale = 1 },
            };
            manual_seed(5);
            using var bundle = new Trainer(options) { Stages = [] }.Train(data, null).Bundle;
            var head = (PartsHead)bundle.Model.Head;
            lastLayer = head.LastLayerWeight.detach().clone();
            return head.PrototypeVectors.detach().clone();
        }
        using var still1 = Train(0.05, 0, out var last1);
        using var still2 = Train(0.1, 0, out var last2);
        using var moved = Train(0.1, 1, out var last3);
        using (last1) using (last2) using (last3)
        {
            Assert.True(still1.eq(still2).all().item<bool>(), "at scale 0 the prototypes must not move");
            Assert.False(last1.eq(last2).all().item<bool>(), "the last layer must learn at the run's rate");
        }
        Assert.False(still2.eq(moved).all().item<bool>(), "at scale 1 the prototypes must learn");
    }

    [Fact]
    public void Orthogonality_IsZeroForOrthonormalClassPrototypes_AndMatchesByHand()
    {
        // Class 0: e1, e2 (orthogonal); class 1: e1 and (e1 + e2) / sqrt 2 (cosine 1/sqrt 2): ||G - I||^2 = 2 * 1/2 = 1.
        using var p = tensor(new float[] { 1, 0, 0, 1, 3, 0, 1, 1 }).reshape(4, 2, 1, 1);
        Assert.Equal(1.0, PrototypeCosts.Orthogonality(p, [0, 0, 1, 1]).item<float>(), 1e-5);
        using var q = tensor(new float[] { 1, 0, 0, 2 }).reshape(2, 2, 1, 1);
        Assert.Equal(0.0, PrototypeCosts.Orthogonality(q, [0, 0]).item<float>(), 1e-6);
    }

    [Fact]
    public void Push_ReplacesEachPrototypeWithNearestOwnClassPatch()
    {
        manual_seed(3);
        using var data = Shapes.Make(7, seed: 5);
        using var model = new Classifier(new ReferenceCnn(1), PartsHead.PerClass(128, 2, 5, 3));
        var normalization = InputNormalization.Fit(data.Inputs);
        var head = (PartsHead)model.Head;
        // Batches of 2 over 7 items: the best patch must survive across batches.
        var pushed = PrototypePush.Push(model, data, normalization, batchSize: 2);

        // Oracle: every (item of the prototype's class, cell), distance summed by hand in double.
        model.eval();
        using var no = no_grad();
        using var z = head.Features(model.Backbone.FeatureMap(normalization.Apply(data.Inputs)));
        var (n, d, h, w) = ((int)z.shape[0], (int)z.shape[1], (int)z.shape[2], (int)z.shape[3]);
        var zv = Values(z);
        var before = pushed; // distances are those to the prototypes before the push
        Assert.Equal(6, pushed.Count);
        using var after = head.PrototypeVectors.detach().flatten(1);
        var pv = Values(after);
        for (var j = 0; j < 6; j++)
        {
            var cls = head.PrototypeClasses[j];
            var source = head.Sources[j]!;
            var item = Array.IndexOf(data.Ids.ToArray(), source.ItemId);
            Assert.Equal(cls, data.Labels[item]);
            // The prototype is now exactly the features of its source cell.
            for (var c = 0; c < d; c++)
                Assert.Equal(zv[((item * d + c) * h + source.Row) * w + source.Col], pv[j * d + c], 1e-5);
            Assert.Equal(PatchBox.ForCell(source.Row, source.Col, h, w, 12, 12), source.Box);
        }
        // And its source was the nearest own-class patch to the prototype as it was before the push.
        manual_seed(3);
        using var fresh = new Classifier(new ReferenceCnn(1), PartsHead.PerClass(128, 2, 5, 3));
        fresh.eval();
        var old = Values(((PartsHead)fresh.Head).PrototypeVectors.detach().flatten(1));
        for (var j = 0; j < 6; j++)
        {
            var cls = head.PrototypeClasses[j];
            var best = (Distance: double.PositiveInfinity, Item: -1, Cell: -1);
            for (var i = 0; i < n; i++)
            {
                if (data.Labels[i] != cls) continue;
                for (var cell = 0; cell < h * w; cell++)
                {
                    double s = 0;
                    for (var c = 0; c < d; c++)
                    {
                        var diff = zv[(i * d + c) * h * w + cell] - (double)old[j * d + c];
                        s += diff * diff;
                    }
                    if (s < best.Distance) best = (s, i, cell);
                }
            }
            var source = head.Sources[j]!;
            Assert.Equal(data.Ids[best.Item], source.ItemId);
            Assert.Equal(best.Cell, source.Row * w + source.Col);
            Assert.Equal(best.Distance, before[j].Distance, 1e-3);
        }
    }

    [Fact]
    public void PatchBox_MapsCellsToInputPixelsByTheRatioOfSizes()
    {
        Assert.Equal(new PatchBox(0, 0, 4, 4), PatchBox.ForCell(0, 0, 7, 7, 28, 28));
        Assert.Equal(new PatchBox(24, 8, 28, 12), PatchBox.ForCell(2, 6, 7, 7, 28, 28));
        // Uneven: 3 cells over 10 pixels tile them without gaps.
        Assert.Equal(new PatchBox(3, 0, 6, 3), PatchBox.ForCell(0, 1, 3, 3, 10, 10));
        Assert.Equal(new PatchBox(6, 6, 10, 10), PatchBox.ForCell(2, 2, 3, 3, 10, 10));
    }
}

/// <summary>12x12 gray images: class 0 holds a bright 3x3 square, class 1 a bright 1x5 bar, at random places, over faint noise.</summary>
internal static class Shapes
{
    public static Dataset Make(int count, int seed)
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
        return new Dataset(tensor(pixels, [count, 1, 12, 12]), labels, ["square", "bar"], InputKind.Image, "shapes",
            Enumerable.Range(0, count).Select(i => $"item{i:00}.png").ToArray());
    }
}

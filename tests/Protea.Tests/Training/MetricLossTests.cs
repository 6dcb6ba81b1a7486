using System.Text.Json;
using Protea.Tests.Support;
using Protea.Training.Objectives;
using static TorchSharp.torch;

namespace Protea.Tests.Training;

/// <summary>Triplet (batch-hard, semi-hard) and center losses against loop-by-loop PyTorch references of the papers' formulas, values and gradients.</summary>
public sealed class MetricLossTests
{
    // Written from the papers, not from our code: FaceNet's hinge on squared distances of unit
    // vectors; batch-hard (Hermans et al. 2017) takes each anchor's farthest positive and nearest
    // negative; semi-hard takes, per anchor-positive pair, the nearest negative farther than the
    // positive, else the farthest negative (TensorFlow Addons' rule). Center loss (Wen et al. 2016)
    // is 1/2 ||x_i - c_y||^2 averaged over the batch. Gradients by autograd.
    private const string Reference = """
        import sys, json, torch
        torch.set_default_dtype(torch.float64)
        a = json.load(open(sys.argv[1]))
        n, d, m, kind = a["n"], a["d"], a["margin"], a["kind"]
        x = torch.tensor(a["x"]).reshape(n, d).requires_grad_(True)
        y = a["labels"]
        if kind == "center":
            c = torch.tensor(a["centers"]).reshape(-1, d).requires_grad_(True)
            loss = sum(0.5 * ((x[i] - c[y[i]]) ** 2).sum() for i in range(n)) / n
            loss.backward()
            print(json.dumps({"loss": loss.item(), "gx": x.grad.flatten().tolist(), "gc": c.grad.flatten().tolist()}))
            sys.exit(0)
        z = [x[i] / x[i].norm() for i in range(n)]
        def dist(i, j): return ((z[i] - z[j]) ** 2).sum()
        terms = []
        for i in range(n):
            pos = [p for p in range(n) if p != i and y[p] == y[i]]
            neg = [q for q in range(n) if y[q] != y[i]]
            if not pos or not neg: continue
            if kind == "hard":
                dp = max(dist(i, p) for p in pos)
                dn = min(dist(i, q) for q in neg)
                terms.append(torch.clamp(dp - dn + m, min=0))
            else:
                for p in pos:
                    dp = dist(i, p)
                    farther = [dist(i, q) for q in neg if dist(i, q).item() > dp.item()]
                    dn = min(farther) if farther else max(dist(i, q) for q in neg)
                    terms.append(torch.clamp(dp - dn + m, min=0))
        loss = sum(terms) / len(terms)
        loss.backward()
        print(json.dumps({"loss": loss.item(), "gx": x.grad.flatten().tolist()}))
        """;

    private static JsonElement Oracle(object input)
    {
        using var dir = new TempDir();
        var path = Path.Combine(dir.Path, "input.json");
        File.WriteAllText(path, JsonSerializer.Serialize(input));
        using var doc = JsonDocument.Parse(Python.Run(Reference, path));
        return doc.RootElement.Clone();
    }

    private static double[] Doubles(JsonElement e, string name) => e.GetProperty(name).EnumerateArray().Select(v => v.GetDouble()).ToArray();

    private static double[] Fixed(int count, int salt) =>
        Enumerable.Range(0, count).Select(i => Math.Sin(1.3 * i + 0.7 * salt * salt + salt) + 0.2 * Math.Cos(0.37 * i * salt)).ToArray();

    [Theory]
    [InlineData(TripletMining.BatchHard, 0.2)]
    [InlineData(TripletMining.BatchHard, 1.0)]
    [InlineData(TripletMining.SemiHard, 0.2)]
    [InlineData(TripletMining.SemiHard, 0.5)]
    public void Triplet_LossAndGradients_MatchTheReference(TripletMining mining, double margin)
    {
        const int n = 10, d = 4;
        var values = Fixed(n * d, 3);
        long[] labels = [0, 1, 0, 2, 1, 0, 2, 3, 1, 2]; // class 3 has no positive: its anchor is skipped
        var expected = Oracle(new { n, d, margin, kind = mining == TripletMining.BatchHard ? "hard" : "semi", x = values, labels });

        using var x = tensor(values).reshape(n, d).requires_grad_(true);
        using var y = tensor(labels);
        using var loss = TripletLoss.Compute(x, y, margin, mining);
        loss.backward();
        var reference = expected.GetProperty("loss").GetDouble();
        Assert.True(reference > 0.05, $"the reference loss {reference} is too small to test anything");
        Assert.Equal(reference, loss.item<double>(), 1e-9);
        AssertClose(Doubles(expected, "gx"), x.grad!.data<double>().ToArray());
    }

    [Fact]
    public void Triplet_WithoutAnyValidTriplet_IsAZeroThatBackpropagates()
    {
        using var x = randn(4, 3).requires_grad_(true);
        using var y = tensor(new long[] { 0, 1, 2, 3 });
        foreach (var mining in new[] { TripletMining.BatchHard, TripletMining.SemiHard })
        {
            using var loss = TripletLoss.Compute(x, y, 0.2, mining);
            loss.backward();
            Assert.Equal(0, loss.item<float>());
        }
    }

    [Fact]
    public void Triplet_SeparatedClasses_GiveZeroLoss_AndAMarginOfZeroStillRanks()
    {
        // Two tight, far-apart clusters: every negative is farther than every positive by far more than the margin.
        using var x = tensor(new float[] { 1, 0, 0.99f, 0.1f, 0, 1, 0.1f, 0.99f }).reshape(4, 2);
        using var y = tensor(new long[] { 0, 0, 1, 1 });
        using var hard = TripletLoss.Compute(x, y, 0.2, TripletMining.BatchHard);
        using var semi = TripletLoss.Compute(x, y, 0.2, TripletMining.SemiHard);
        Assert.Equal(0, hard.item<float>());
        Assert.Equal(0, semi.item<float>());
        // Swap one item into the other cluster: its anchor now violates the margin.
        using var swapped = tensor(new long[] { 0, 1, 1, 0 });
        using var bad = TripletLoss.Compute(x, swapped, 0.2, TripletMining.BatchHard);
        Assert.True(bad.item<float>() > 1);
    }

    [Fact]
    public void Center_LossAndGradients_MatchTheReference()
    {
        const int n = 7, d = 3, classes = 3;
        var values = Fixed(n * d, 5);
        var centers = Fixed(classes * d, 6);
        long[] labels = [0, 2, 1, 0, 2, 2, 1];
        var expected = Oracle(new { n, d, margin = 0.0, kind = "center", x = values, centers, labels });

        using var x = tensor(values).reshape(n, d).requires_grad_(true);
        using var c = tensor(centers).reshape(classes, d).requires_grad_(true);
        using var y = tensor(labels);
        using var loss = CenterObjective.Compute(x, c, y);
        loss.backward();
        Assert.Equal(expected.GetProperty("loss").GetDouble(), loss.item<double>(), 1e-9);
        AssertClose(Doubles(expected, "gx"), x.grad!.data<double>().ToArray());
        AssertClose(Doubles(expected, "gc"), c.grad!.data<double>().ToArray());
    }

    [Fact]
    public void ObjectiveList_KnowsTheMetricTerms_AndRefusesABadMargin()
    {
        var list = ObjectiveList.Parse("triplet-semihard:0.5+center:0.01+ce", margin: 0.3);
        var triplet = Assert.IsType<TripletObjective>(list[0]);
        Assert.Equal((TripletMining.SemiHard, 0.3, 0.5), (triplet.Mining, triplet.Margin, triplet.Weight));
        Assert.Equal(0.01, Assert.IsType<CenterObjective>(list[1]).Weight);
        Assert.Equal(TripletLoss.DefaultMargin, Assert.IsType<TripletObjective>(ObjectiveList.Parse("triplet")[0]).Margin);
        Assert.IsType<DetachedHeadObjective>(ObjectiveList.Parse("triplet")[1]);
        var bad = Assert.Throws<ProteaException>(() => ObjectiveList.Parse("triplet", margin: -1));
        Assert.Equal("margin", bad.Field);
        Assert.Contains("-1", bad.Message);
    }

    private static void AssertClose(double[] expected, double[] actual)
    {
        Assert.Equal(expected.Length, actual.Length);
        for (var i = 0; i < expected.Length; i++)
            Assert.True(Math.Abs(expected[i] - actual[i]) <= 1e-9 + 1e-7 * Math.Abs(expected[i]), $"element {i}: expected {expected[i]}, got {actual[i]}");
    }
}

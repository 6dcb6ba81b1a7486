using System.Globalization;
using System.Text.Json;
using Protea.Tests.Support;
using Protea.Training.Objectives;
using static TorchSharp.torch;

namespace Protea.Tests.Training;

/// <summary>SupCon and NT-Xent against a loop-by-loop PyTorch reference of the papers' formulas, values and gradients.</summary>
public sealed class ContrastiveLossTests
{
    // The reference, written from the papers rather than from our code: Khosla et al. (2020) eq. 2
    // (L_out, positives: every other vector of the anchor's class), SimCLR's NT-Xent (positive: the
    // other view), each anchor's terms summed with explicit loops; gradients by autograd.
    private const string Reference = """
        import sys, json, math, torch
        torch.set_default_dtype(torch.float64)
        a = json.load(open(sys.argv[1]))
        n, d, t = a["n"], a["d"], a["t"]
        v1 = torch.tensor(a["v1"]).reshape(n, d).requires_grad_(True)
        v2 = torch.tensor(a["v2"]).reshape(n, d).requires_grad_(True)
        labels = a["labels"]
        z = torch.cat([v1, v2])
        z = z / z.norm(dim=1, keepdim=True)
        ids = (labels + labels) if labels is not None else (list(range(n)) + list(range(n)))
        total = 0
        for i in range(2 * n):
            denominator = sum(torch.exp(z[i] @ z[k] / t) for k in range(2 * n) if k != i)
            positives = [p for p in range(2 * n) if p != i and ids[p] == ids[i]]
            total = total - sum(torch.log(torch.exp(z[i] @ z[p] / t) / denominator) for p in positives) / len(positives)
        loss = total / (2 * n)
        loss.backward()
        print(json.dumps({"loss": loss.item(), "g1": v1.grad.flatten().tolist(), "g2": v2.grad.flatten().tolist()}))
        """;

    private static (double Loss, double[] G1, double[] G2) Oracle(float[] v1, float[] v2, long[]? labels, int n, int d, double t)
    {
        using var dir = new TempDir();
        var input = Path.Combine(dir.Path, "input.json");
        File.WriteAllText(input, JsonSerializer.Serialize(new { n, d, t, v1 = v1.Select(f => (double)f), v2 = v2.Select(f => (double)f), labels }));
        using var doc = JsonDocument.Parse(Python.Run(Reference, input));
        var r = doc.RootElement;
        return (r.GetProperty("loss").GetDouble(),
            r.GetProperty("g1").EnumerateArray().Select(e => e.GetDouble()).ToArray(),
            r.GetProperty("g2").EnumerateArray().Select(e => e.GetDouble()).ToArray());
    }

    private static float[] Fixed(int count, int salt) =>
        Enumerable.Range(0, count).Select(i => (float)Math.Sin(1.7 * i + 0.31 * salt * salt + salt)).ToArray();

    [Theory]
    [InlineData(true, 0.1)]   // SupCon, several positives per anchor (classes of 3, 2, 2 and 1 examples)
    [InlineData(true, 0.5)]
    [InlineData(false, 0.5)]  // NT-Xent
    [InlineData(false, 0.2)]
    public void Loss_AndGradients_MatchTheReference(bool supervised, double temperature)
    {
        const int n = 8, d = 5;
        var a = Fixed(n * d, 1);
        var b = Fixed(n * d, 2);
        long[]? labels = supervised ? [0, 1, 0, 2, 1, 0, 2, 3] : null;
        var (expected, g1, g2) = Oracle(a, b, labels, n, d, temperature);

        using var v1 = tensor(a).reshape(n, d).to(float64).requires_grad_(true);
        using var v2 = tensor(b).reshape(n, d).to(float64).requires_grad_(true);
        using var y = labels is null ? null : tensor(labels);
        using var loss = ContrastiveLoss.Compute(v1, v2, y, temperature);
        loss.backward();
        Assert.Equal(expected, loss.item<double>(), 1e-9);
        Assert.True(expected > 0.1, $"the reference loss {expected.ToString(CultureInfo.InvariantCulture)} is suspiciously small");
        AssertClose(g1, v1.grad!.data<double>().ToArray());
        AssertClose(g2, v2.grad!.data<double>().ToArray());
    }

    [Fact]
    public void Objectives_UseTheirPaperTemperaturesAndLabels()
    {
        Assert.Equal(0.1, new SupConObjective().Temperature);
        Assert.Equal(0.5, new NtXentObjective().Temperature);
        // With labels all distinct, SupCon is NT-Xent.
        using var v1 = randn(6, 4, generator: new Generator(1));
        using var v2 = randn(6, 4, generator: new Generator(2));
        using var distinct = arange(6L);
        using var supCon = ContrastiveLoss.Compute(v1, v2, distinct, 0.3);
        using var ntXent = ContrastiveLoss.Compute(v1, v2, null, 0.3);
        Assert.Equal(ntXent.item<float>(), supCon.item<float>(), 1e-6f);
    }

    [Fact]
    public void ObjectiveList_ParsesWeightedSums_AndNamesTheMistake()
    {
        var list = ObjectiveList.Parse("supcon:2+ce:0.5", temperature: 0.2);
        var supCon = Assert.IsType<SupConObjective>(list[0]);
        Assert.Equal((0.2, 2.0), (supCon.Temperature, supCon.Weight));
        var ce = Assert.IsType<WeightedObjective>(list[1]);
        Assert.Equal(0.5, ce.Weight);
        Assert.Equal(2, list.Count);
        Assert.IsType<CrossEntropyObjective>(Assert.Single(ObjectiveList.Parse("ce")));
        var simclr = ObjectiveList.Parse("simclr");
        Assert.Equal(0.5, Assert.IsType<NtXentObjective>(simclr[0]).Temperature);
        Assert.IsType<DetachedHeadObjective>(simclr[1]);

        var unknown = Assert.Throws<ProteaException>(() => ObjectiveList.Parse("arcface+ce"));
        Assert.Equal("objective", unknown.Field);
        Assert.Contains("'arcface' is not known", unknown.Message);
        Assert.Equal("objective", Assert.Throws<ProteaException>(() => ObjectiveList.Parse("ce:x")).Field);
        Assert.Equal("objective", Assert.Throws<ProteaException>(() => ObjectiveList.Parse("ce+ce")).Field);
        Assert.Equal("temperature", Assert.Throws<ProteaException>(() => ObjectiveList.Parse("supcon", temperature: 0)).Field);
    }

    private static void AssertClose(double[] expected, double[] actual)
    {
        Assert.Equal(expected.Length, actual.Length);
        Assert.Contains(expected, g => Math.Abs(g) > 1e-3);
        for (var i = 0; i < expected.Length; i++)
            Assert.True(Math.Abs(expected[i] - actual[i]) <= 1e-9 + 1e-7 * Math.Abs(expected[i]), $"gradient {i}: expected {expected[i]}, got {actual[i]}");
    }
}

using System.Text.Json;
using Protea.Evaluation;
using Protea.Tests.Search;
using Protea.Tests.Support;
using static TorchSharp.torch;

namespace Protea.Tests.Metric;

/// <summary>Separability numbers against scikit-learn and NumPy on the same vectors; `protea separability` end to end.</summary>
public sealed class SeparabilityTests
{
    // Independent of our code: scikit-learn's silhouette_score and PCA; scatter and nearest
    // neighbours written out in NumPy, all on the L2-normalised rows.
    private const string Reference = """
        import sys, json, numpy as np
        from sklearn.metrics import silhouette_score, silhouette_samples
        from sklearn.decomposition import PCA
        a = json.load(open(sys.argv[1]))
        x = np.array(a["x"], dtype=np.float64).reshape(a["n"], a["d"])
        y = np.array(a["y"])
        z = x / np.linalg.norm(x, axis=1, keepdims=True)
        mu = z.mean(0)
        sw = sum(((z[y == c] - z[y == c].mean(0)) ** 2).sum() for c in np.unique(y))
        sb = sum((y == c).sum() * ((z[y == c].mean(0) - mu) ** 2).sum() for c in np.unique(y))
        sim = z @ z.T
        np.fill_diagonal(sim, -np.inf)
        nn = y[sim.argmax(1)]
        samples = silhouette_samples(z, y)
        pca = PCA(n_components=2).fit_transform(z)
        print(json.dumps({"silhouette": float(silhouette_score(z, y)), "ratio": float(sb / sw),
            "nn_acc": float((nn == y).mean()), "nn": nn.tolist(),
            "per_class_sil": [float(samples[y == c].mean()) for c in range(a["k"]) if (y == c).any()],
            "pca": pca.flatten().tolist()}))
        """;

    [Fact]
    public void Numbers_MatchScikitLearnAndNumPy()
    {
        const int n = 90, d = 6, k = 4;
        var rng = new Random(7);
        var y = Enumerable.Range(0, n).Select(i => (long)(i % 3 == 0 ? i % 4 : i % 3)).ToArray(); // uneven classes
        var centres = Enumerable.Range(0, k * d).Select(_ => rng.NextDouble() * 2 - 1).ToArray();
        var x = Enumerable.Range(0, n * d).Select(i => centres[y[i / d] * d + i % d] + 0.6 * (rng.NextDouble() - 0.5)).ToArray();
        using var dir = new TempDir();
        File.WriteAllText(dir.File("in.json"), JsonSerializer.Serialize(new { n, d, k, x, y }));
        using var doc = JsonDocument.Parse(Python.Run(Reference, dir.File("in.json")));
        var r = doc.RootElement;

        using var embeddings = tensor(x).reshape(n, d).to(float32);
        var report = Separability.Compute(embeddings, y, ["a", "b", "c", "d"]);
        Assert.Equal(r.GetProperty("silhouette").GetDouble(), report.Silhouette, 1e-5);
        Assert.InRange(report.Silhouette, 0.05, 0.99); // the fixture is neither trivial nor hopeless
        Assert.Equal(r.GetProperty("ratio").GetDouble(), report.ScatterRatio, 1e-4);
        Assert.Equal(r.GetProperty("nn_acc").GetDouble(), report.NeighbourAccuracy, 1e-12);
        var nn = r.GetProperty("nn").EnumerateArray().Select(e => e.GetInt64()).ToArray();
        for (var c = 0; c < k; c++)
            for (var j = 0; j < k; j++)
                Assert.Equal(Enumerable.Range(0, n).Count(i => y[i] == c && nn[i] == j), report.NeighbourConfusion[c][j]);
        var perClass = r.GetProperty("per_class_sil").EnumerateArray().Select(e => e.GetDouble()).ToArray();
        Assert.Equal(perClass.Length, report.PerClass.Count);
        for (var c = 0; c < perClass.Length; c++) Assert.Equal(perClass[c], report.PerClass[c].Silhouette, 1e-5);
        // PCA coordinates agree up to each component's sign.
        var pca = r.GetProperty("pca").EnumerateArray().Select(e => e.GetDouble()).ToArray();
        for (var component = 0; component < 2; component++)
        {
            var sign = Math.Sign(pca[component]) * Math.Sign(report.Map[0][component]);
            for (var i = 0; i < n; i++) Assert.Equal(pca[2 * i + component], sign * report.Map[i][component], 1e-5);
        }
    }

    [Fact]
    public void PerfectlySeparatedClusters_ScoreNearOne_AndOneClassIsRefused()
    {
        using var x = tensor(new float[] { 1, 0, 1, 0.01f, 0, 1, 0.01f, 1 }).reshape(4, 2);
        var report = Separability.Compute(x, [0, 0, 1, 1], ["a", "b"]);
        Assert.True(report.Silhouette > 0.98);
        Assert.Equal(1, report.NeighbourAccuracy);
        // k-means finds the two clusters: NMI 1 when they are the classes, 0 when each cluster holds one item of each class (by hand).
        Assert.Equal(1.0, report.KMeansNmi, 12);
        Assert.Equal(0.0, Separability.Compute(x, [0, 1, 0, 1], ["a", "b"]).KMeansNmi, 12);
        Assert.Equal("data", Assert.Throws<ProteaException>(() => Separability.Compute(x, [0, 0, 0, 0], ["a", "b"])).Field);
    }

    [Fact]
    public void Cli_WritesJsonMapAndConfusion_AndRefusesBadInputs()
    {
        using var dir = new TempDir();
        var model = SearchFixture.SaveModel(dir.File("model"), seed: 2);
        SearchFixture.WriteImageFolder(dir.File("data"), 40);
        var r = CliRunner.Run("separability", "--model", model, "--data", dir.File("data"), "--out", dir.File("sep"), "--json", "--engine", "torch", "--threads", "1");
        Assert.True(r.ExitCode == 0, r.Stderr);
        using var doc = JsonDocument.Parse(r.Stdout);
        var root = doc.RootElement;
        Assert.Equal("test", root.GetProperty("split").GetString());
        Assert.Equal(10, root.GetProperty("items").GetInt32());
        foreach (var name in new[] { "scatter_ratio", "silhouette", "neighbour_accuracy", "per_class", "neighbour_confusion" })
            Assert.True(root.TryGetProperty(name, out _), name);
        Assert.False(root.TryGetProperty("map", out _));
        foreach (var file in new[] { "separability.json", "map.png", "neighbour-confusion.png" })
            Assert.True(new FileInfo(Path.Combine(dir.File("sep"), file)).Length > 100, file);

        var bad = CliRunner.Run("separability", "--model", model, "--data", dir.File("data"), "--max-items", "1");
        Assert.Equal(2, bad.ExitCode);
        Assert.Equal("protea: --max-items: separability needs at least 2 items, not 1", bad.Stderr.Trim());
        var missing = CliRunner.Run("separability", "--model", dir.File("none"), "--data", dir.File("data"));
        Assert.Equal(2, missing.ExitCode);
        Assert.StartsWith("protea: --model: ", missing.Stderr);
    }
}

using System.Text.Json;
using Protea.Tests.Support;
using SkiaSharp;

namespace Protea.Tests.Clustering;

public sealed class DiscoverCliTests
{
    [Fact]
    public void Discover_on_a_csv_with_a_hidden_class_writes_assignments_clusters_and_metrics()
    {
        using var dir = new TempDir();
        var outDir = dir.File("gcd");
        var r = CliRunner.Run("discover", "--data", TestData.IrisCsv, "--label", "species", "--hide-labels-of", "virginica", "--arch", "mlp",
            "--epochs", "30", "--k", "3", "--out", outDir, "--json", "--threads", "1");
        Assert.True(r.ExitCode == 0, r.Stderr);
        using var json = JsonDocument.Parse(r.Stdout);
        var root = json.RootElement;
        Assert.Equal(3, root.GetProperty("k").GetInt32());
        Assert.Equal(100, root.GetProperty("labelled_items").GetInt32());
        Assert.Equal(50, root.GetProperty("unlabelled_items").GetInt32());
        var metrics = root.GetProperty("metrics");
        Assert.Equal(50, metrics.GetProperty("items").GetInt32());
        // Every unlabelled item is virginica, a new class: most must share the one new cluster.
        Assert.True(metrics.GetProperty("new_accuracy").GetDouble() >= 0.7, metrics.ToString());
        Assert.True(root.GetProperty("phase_seconds").TryGetProperty("train", out _));

        var rows = File.ReadAllLines(Path.Combine(outDir, "assignments.csv"));
        Assert.Equal("id,cluster", rows[0]);
        Assert.Equal(51, rows.Length);
        Assert.All(rows.Skip(1), row => Assert.InRange(int.Parse(row.Split(',')[1]), 0, 2));
        using var clusters = JsonDocument.Parse(File.ReadAllText(Path.Combine(outDir, "clusters.json")));
        var list = clusters.RootElement.GetProperty("clusters").EnumerateArray().ToList();
        Assert.Equal(["setosa", "versicolor", "new"], list.Select(c => c.GetProperty("matches").GetString()));
        Assert.Equal(50, list.Sum(c => c.GetProperty("size").GetInt32()));
        Assert.Equal(100, list.Sum(c => c.GetProperty("labelled").GetInt32()));
        var ids = rows.Skip(1).Select(row => row.Split(',')[0]).ToHashSet();
        // Representatives are unlabelled members (labelled ones only where a cluster has no unlabelled member).
        Assert.All(list.Where(c => c.GetProperty("size").GetInt32() > 0).SelectMany(c => c.GetProperty("representatives").EnumerateArray()), id => Assert.Contains(id.GetString()!, ids));
        var means = File.ReadAllLines(Path.Combine(outDir, "cluster-means.csv"));
        Assert.StartsWith("cluster,matches,size,sepal_length", means[0]);
        Assert.Equal(4, means.Length);

        // Again from the saved model, with k estimated: the curve covers the range asked for.
        var again = CliRunner.Run("discover", "--data", TestData.IrisCsv, "--label", "species", "--hide-labels-of", "virginica",
            "--model", Path.Combine(outDir, "model"), "--k-min", "2", "--k-max", "6", "--out", dir.File("gcd2"), "--json", "--threads", "1");
        Assert.True(again.ExitCode == 0, again.Stderr);
        using var auto = JsonDocument.Parse(again.Stdout);
        var curve = auto.RootElement.GetProperty("k_estimate").GetProperty("curve").EnumerateArray().Select(p => p.GetProperty("k").GetInt32());
        Assert.Equal([2, 3, 4, 5, 6], curve);
        Assert.InRange(auto.RootElement.GetProperty("k").GetInt32(), 2, 6);
    }

    [Fact]
    public void Discover_on_an_image_tree_with_an_unlabelled_folder_draws_the_clusters()
    {
        using var dir = new TempDir();
        var root = dir.File("shapes");
        var colours = new[] { SKColors.Red, SKColors.Blue, SKColors.Lime };
        var random = new Random(1);
        SKColor Noisy(SKColor c) => new((byte)Math.Clamp(c.Red + random.Next(-20, 20), 0, 255), (byte)Math.Clamp(c.Green + random.Next(-20, 20), 0, 255), (byte)Math.Clamp(c.Blue + random.Next(-20, 20), 0, 255));
        for (var i = 0; i < 8; i++)
        {
            TestImages.Write(Path.Combine(root, "red", $"{i}.png"), 12, 12, (_, _) => Noisy(colours[0]));
            TestImages.Write(Path.Combine(root, "blue", $"{i}.png"), 12, 12, (_, _) => Noisy(colours[1]));
            TestImages.Write(Path.Combine(root, "unlabelled", $"g{i}.png"), 12, 12, (_, _) => Noisy(colours[2]));
            TestImages.Write(Path.Combine(root, "unlabelled", $"r{i}.png"), 12, 12, (_, _) => Noisy(colours[0]));
        }
        var truth = dir.File("truth.csv");
        File.WriteAllLines(truth, ["id,label", .. Enumerable.Range(0, 8).SelectMany(i => new[] { $"unlabelled/g{i}.png,green", $"unlabelled/r{i}.png,red" })]);
        var outDir = dir.File("gcd");
        var r = CliRunner.Run("discover", "--data", root, "--arch", "cnn", "--epochs", "1", "--k", "3", "--truth", truth, "--out", outDir, "--json", "--threads", "1");
        Assert.True(r.ExitCode == 0, r.Stderr);
        using var json = JsonDocument.Parse(r.Stdout);
        Assert.Equal(16, json.RootElement.GetProperty("metrics").GetProperty("items").GetInt32());
        // Images are clustered on the feature map pooled over the default 3x3 grid: 9 values per channel.
        Assert.Equal(3, json.RootElement.GetProperty("pool_grid").GetInt32());
        Assert.Equal(0, json.RootElement.GetProperty("embedding_dim").GetInt32() % 9);
        var rows = File.ReadAllLines(Path.Combine(outDir, "assignments.csv"));
        Assert.Equal(17, rows.Length);
        Assert.Contains(rows, row => row.StartsWith("unlabelled/g0.png,", StringComparison.Ordinal));
        using var png = SKBitmap.Decode(Path.Combine(outDir, "clusters.png"));
        Assert.NotNull(png);
        Assert.True(png.Height >= 3 * 64);

        // The grid reads the feature map, which ONNX Runtime does not give.
        var onnx = CliRunner.Run("discover", "--data", root, "--model", Path.Combine(outDir, "model"), "--engine", "onnx", "--pool-grid", "3", "--k", "3",
            "--out", dir.File("gcd-onnx"), "--json", "--threads", "1");
        Assert.Equal(2, onnx.ExitCode);
        Assert.Equal("protea: --engine: pool grid 3 reads the backbone's feature map, which only the torch engine gives; use --engine torch or --pool-grid 1", onnx.Stderr.Trim());
    }

    [Theory]
    [InlineData("--k", "500", "protea: --k: k 500 is larger than the 150 items to cluster")]
    [InlineData("--k", "two", "protea: --k: k 'two': must be a whole number or auto")]
    [InlineData("--labelled-fraction", "0", "protea: --labelled-fraction: labelled fraction 0: must be in (0, 1]")]
    [InlineData("--pool-grid", "3", "protea: --pool-grid: pool grid 3: the 'mlp' backbone has no spatial feature map; use 1 (tables) or an image backbone")]
    public void Bad_settings_are_one_line_errors(string flag, string value, string expected)
    {
        using var dir = new TempDir();
        var r = CliRunner.Run("discover", "--data", TestData.IrisCsv, "--label", "species", "--hide-labels-of", "virginica", "--arch", "mlp",
            "--epochs", "1", flag, value, "--out", dir.File("gcd"), "--threads", "1");
        Assert.Equal(2, r.ExitCode);
        Assert.Equal(expected, r.Stderr.Trim());
    }

    [Fact]
    public void No_labelled_items_and_a_non_image_in_the_unlabelled_folder_are_one_line_errors()
    {
        using var dir = new TempDir();
        var csv = dir.File("none.csv");
        File.WriteAllLines(csv, ["a,b,label", "1,2,", "3,4,", "5,6,"]);
        var r = CliRunner.Run("discover", "--data", csv, "--arch", "mlp", "--k", "2", "--out", dir.File("gcd"), "--threads", "1");
        Assert.Equal(2, r.ExitCode);
        Assert.Single(r.Stderr.Trim().Split('\n'));
        Assert.Contains("no labelled items", r.Stderr);

        var root = dir.File("imgs");
        TestImages.Write(Path.Combine(root, "red", "0.png"), 8, 8, (_, _) => SKColors.Red);
        TestImages.Write(Path.Combine(root, "blue", "0.png"), 8, 8, (_, _) => SKColors.Blue);
        Directory.CreateDirectory(Path.Combine(root, "unlabelled"));
        File.WriteAllText(Path.Combine(root, "unlabelled", "notes.png"), "not an image");
        var bad = CliRunner.Run("discover", "--data", root, "--arch", "cnn", "--k", "3", "--out", dir.File("gcd2"), "--threads", "1");
        Assert.Equal(2, bad.ExitCode);
        Assert.Single(bad.Stderr.Trim().Split('\n'));
        Assert.Contains("notes.png", bad.Stderr);
    }
}

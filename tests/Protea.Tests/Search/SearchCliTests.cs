using System.Text.Json;
using Protea.Tests.Support;
using SkiaSharp;

namespace Protea.Tests.Search;

public sealed class SearchCliTests
{
    /// <summary>
    /// index a small image folder, then search with files already in it: each query's first hit is the
    /// query itself (same pixels, same embedding: similarity 1), the JSON has exactly the documented fields,
    /// --out draws one grid per query, and --data prints Recall@K and mAP@R.
    /// </summary>
    [Fact]
    public void IndexThenSearch_EndToEnd()
    {
        using var dir = new TempDir();
        var model = SearchFixture.SaveModel(dir.File("model"), 1);
        var trainFiles = SearchFixture.WriteImageFolder(dir.File("data"), 24);
        var index = dir.File("train.index");
        var r = CliRunner.Run("index", "--model", model, "--data", dir.File("data"), "--out", index, "--engine", "torch", "--threads", "1");
        Assert.True(r.ExitCode == 0, r.Stderr);
        Assert.Contains($"{trainFiles.Count} items", r.Stdout);

        var queries = trainFiles.Take(3).ToList();
        r = CliRunner.Run(["search", "--index", index, "--top", "4", "--json", "--engine", "torch", "--out", dir.File("grids"), .. queries]);
        Assert.True(r.ExitCode == 0, r.Stderr);
        using var json = JsonDocument.Parse(r.Stdout);
        var root = json.RootElement;
        Assert.Equal(["queries"], root.EnumerateObject().Select(p => p.Name));
        var lines = root.GetProperty("queries").EnumerateArray().ToList();
        Assert.Equal(3, lines.Count);
        for (var i = 0; i < 3; i++)
        {
            Assert.Equal(["query", "results"], lines[i].EnumerateObject().Select(p => p.Name));
            Assert.Equal(queries[i], lines[i].GetProperty("query").GetString());
            var results = lines[i].GetProperty("results").EnumerateArray().ToList();
            Assert.Equal(4, results.Count);
            foreach (var hit in results)
            {
                Assert.Equal(["id", "path", "label", "similarity"], hit.EnumerateObject().Select(p => p.Name));
                Assert.Equal(JsonValueKind.String, hit.GetProperty("id").ValueKind);
                Assert.Equal(JsonValueKind.String, hit.GetProperty("label").ValueKind);
                Assert.Equal(JsonValueKind.Number, hit.GetProperty("similarity").ValueKind);
                Assert.True(File.Exists(hit.GetProperty("path").GetString()));
            }
            Assert.Equal(Path.GetFullPath(queries[i]), results[0].GetProperty("path").GetString());
            Assert.Equal(1.0, results[0].GetProperty("similarity").GetDouble(), 1e-4);
            Assert.Equal(Path.GetFileName(Path.GetDirectoryName(queries[i])), results[0].GetProperty("label").GetString());
            var sims = results.Select(h => h.GetProperty("similarity").GetDouble()).ToList();
            Assert.Equal(sims.OrderDescending(), sims);
        }
        var grids = Directory.GetFiles(dir.File("grids"), "*.png").Order().ToList();
        Assert.Equal(3, grids.Count);
        using (var grid = SKBitmap.Decode(grids[0]))
            Assert.True(grid.Width > 4 * 128 && grid.Height > 128, $"{grid.Width}x{grid.Height}");

        r = CliRunner.Run("search", "--index", index, "--data", dir.File("data"), "--engine", "torch");
        Assert.True(r.ExitCode == 0, r.Stderr);
        Assert.Contains("(test split)", r.Stdout);
        foreach (var k in new[] { 1, 2, 4, 8 }) Assert.Contains($"Recall@{k}:", r.Stdout);
        Assert.Contains("mAP@R:", r.Stdout);
    }

    [Fact]
    public void Search_WithABrokenIndex_FailsWithOneLine()
    {
        using var dir = new TempDir();
        File.WriteAllText(dir.File("bad.index"), "not an index");
        var r = CliRunner.Run("search", "--index", dir.File("bad.index"), "x.png");
        Assert.Equal(2, r.ExitCode);
        Assert.StartsWith($"protea: --index: {dir.File("bad.index")}: not a valid search index", r.Stderr);
        Assert.Single(r.Stderr.Trim().Split('\n'));
        r = CliRunner.Run("search", "--index", dir.File("bad.index"));
        Assert.Equal(2, r.ExitCode);
        Assert.Contains("no queries", r.Stderr);
    }
}

public sealed class TabularSearchCliTests
{
    /// <summary>Tabular data: hits have no file, so "path" is null; ids are CSV row numbers (header = row 1).</summary>
    [Fact]
    public void Search_OnCsvRows_GivesNullPaths()
    {
        using var dir = new TempDir();
        var csv = dir.File("iris.csv");
        File.Copy(TestData.IrisCsv, csv);
        var model = dir.File("model");
        var r = CliRunner.Run("train", "--data", csv, "--label", "species", "--arch", "mlp", "--epochs", "2", "--out", model, "--threads", "1");
        Assert.True(r.ExitCode == 0, r.Stderr);
        r = CliRunner.Run("index", "--model", model, "--data", csv, "--label", "species", "--out", dir.File("iris.index"), "--threads", "1");
        Assert.True(r.ExitCode == 0, r.Stderr);
        var query = dir.File("query.csv");
        File.WriteAllLines(query, File.ReadLines(csv).Take(2)); // header + the first row
        r = CliRunner.Run("search", "--index", dir.File("iris.index"), query, "--top", "2", "--json");
        Assert.True(r.ExitCode == 0, r.Stderr);
        using var json = JsonDocument.Parse(r.Stdout);
        var hits = json.RootElement.GetProperty("queries")[0].GetProperty("results").EnumerateArray().ToList();
        Assert.Equal(2, hits.Count);
        Assert.All(hits, h => Assert.Equal(JsonValueKind.Null, h.GetProperty("path").ValueKind));
        Assert.Equal(["id", "path", "label", "similarity"], hits[0].EnumerateObject().Select(p => p.Name));
        Assert.Equal(1.0, hits[0].GetProperty("similarity").GetDouble(), 1e-4);
        Assert.Equal("setosa", hits[0].GetProperty("label").GetString());
        r = CliRunner.Run("search", "--index", dir.File("iris.index"), query, "--out", dir.File("grids"));
        Assert.Equal(2, r.ExitCode);
        Assert.Contains("--out:", r.Stderr);
    }
}

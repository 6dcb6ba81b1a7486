using System.Text.Json;
using Protea.Data;
using Protea.Incremental;
using Protea.Models;
using Protea.Tests.Support;

namespace Protea.Tests.Incremental;

/// <summary>
/// `protea adopt` on a tiny discovery: an NCM model of two iris species, a discovery on all of iris with
/// virginica's labels hidden, then the new cluster adopted as a class.
/// </summary>
public sealed class AdoptTests
{
    private static readonly string Cli = "adopt";

    /// <summary>Trains an NCM mlp on setosa and versicolor (seeded) and runs discover with it on all of iris, virginica hidden.</summary>
    private static (string Model, string Discovery) Discover(TempDir dir, int seed = 0)
    {
        var known = dir.File("known.csv");
        var lines = File.ReadAllLines(TestData.IrisCsv);
        File.WriteAllLines(known, [lines[0], .. lines.Skip(1).Where(l => !l.Contains("virginica", StringComparison.Ordinal))]);
        var model = dir.File("model");
        var train = CliRunner.Run("train", "--data", known, "--label", "species", "--arch", "mlp", "--head", "ncm", "--epochs", "30",
            "--seed", seed.ToString(System.Globalization.CultureInfo.InvariantCulture), "--out", model, "--threads", "1");
        Assert.True(train.ExitCode == 0, train.Stderr);
        var discovery = dir.File("gcd");
        var r = CliRunner.Run("discover", "--data", TestData.IrisCsv, "--label", "species", "--hide-labels-of", "virginica", "--model", model,
            "--k", "3", "--out", discovery, "--threads", "1");
        Assert.True(r.ExitCode == 0, r.Stderr);
        return (model, discovery);
    }

    private static int NewCluster(string discovery)
    {
        using var json = JsonDocument.Parse(File.ReadAllText(Path.Combine(discovery, "clusters.json")));
        return json.RootElement.GetProperty("clusters").EnumerateArray().Single(c => c.GetProperty("matches").GetString() == "new").GetProperty("id").GetInt32();
    }

    private static Dictionary<string, byte[]> Snapshot(string dir) =>
        Directory.GetFiles(dir).ToDictionary(f => Path.GetFileName(f), File.ReadAllBytes);

    /// <summary>The model's predicted class index for every iris row, by id.</summary>
    private static Dictionary<string, long> Predict(string modelDir)
    {
        using var bundle = ModelBundle.Load(modelDir);
        using var splits = DataSpec.Parse(TestData.IrisCsv, new DataSpecOptions { LabelColumn = "species" }).Load();
        var predicted = TrainedMethod.ArgMax(bundle, splits.Train);
        return splits.Train.Ids.Select((id, i) => (id, i)).ToDictionary(p => p.id, p => predicted[p.i]);
    }

    [Fact]
    public void Adopting_the_new_cluster_makes_its_items_the_new_class_and_keeps_old_predictions()
    {
        using var dir = new TempDir();
        var (model, discovery) = Discover(dir);
        var cluster = NewCluster(discovery);
        var members = File.ReadAllLines(Path.Combine(discovery, "assignments.csv")).Skip(1).Select(l => l.Split(','))
            .Where(p => p[1] == cluster.ToString(System.Globalization.CultureInfo.InvariantCulture)).Select(p => p[0]).ToList();
        Assert.True(members.Count >= 10, $"the new cluster has {members.Count} items");
        var before = Predict(model);

        var r = CliRunner.Run(Cli, "--model", model, "--discovery", discovery, "--cluster", cluster.ToString(System.Globalization.CultureInfo.InvariantCulture),
            "--name", "virginica", "--json", "--threads", "1");
        Assert.True(r.ExitCode == 0, r.Stderr);
        using (var json = JsonDocument.Parse(r.Stdout))
        {
            Assert.Equal(members.Count, json.RootElement.GetProperty("items").GetInt32());
            Assert.Equal(3, json.RootElement.GetProperty("learned").GetProperty("classes_after").GetInt32());
        }
        Assert.Equal(["setosa", "versicolor", "virginica"], ModelBundle.ReadDescription(model).ClassNames);
        var after = Predict(model);
        // The class is the mean of the cluster's embeddings: most of its items are nearest to it.
        var asNew = members.Count(id => after[id] == 2);
        Assert.True(asNew >= 0.8 * members.Count, $"{asNew} of {members.Count} cluster items predicted as the adopted class");
        // NCM: old class scores are unchanged, so a prediction can only move to the new class.
        Assert.All(before.Keys, id => Assert.True(after[id] == before[id] || after[id] == 2, $"item {id} moved from {before[id]} to {after[id]}"));

        // The adoption is recorded: the same cluster again is refused, and the model stays as it is.
        var snapshot = Snapshot(model);
        var again = CliRunner.Run(Cli, "--model", model, "--discovery", discovery, "--cluster", cluster.ToString(System.Globalization.CultureInfo.InvariantCulture),
            "--name", "virginica2", "--threads", "1");
        Assert.Equal(2, again.ExitCode);
        Assert.Equal($"protea: --cluster: cluster {cluster} was already adopted as class 'virginica'", again.Stderr.Trim());
        Assert.Equal(snapshot, Snapshot(model));
    }

    [Fact]
    public void A_discovery_that_trains_an_ncm_model_is_adopted_into_that_model()
    {
        using var dir = new TempDir();
        var discovery = dir.File("gcd");
        var r = CliRunner.Run("discover", "--data", TestData.IrisCsv, "--label", "species", "--hide-labels-of", "virginica", "--arch", "mlp",
            "--head", "ncm", "--epochs", "30", "--k", "3", "--out", discovery, "--threads", "1");
        Assert.True(r.ExitCode == 0, r.Stderr);
        var model = Path.Combine(discovery, "model");
        Assert.Equal("ncm", ModelBundle.ReadDescription(model).Head);
        r = CliRunner.Run(Cli, "--model", model, "--discovery", discovery, "--cluster", NewCluster(discovery).ToString(System.Globalization.CultureInfo.InvariantCulture),
            "--name", "virginica", "--threads", "1");
        Assert.True(r.ExitCode == 0, r.Stderr);
        Assert.Equal(["setosa", "versicolor", "virginica"], ModelBundle.ReadDescription(model).ClassNames);
    }

    [Fact]
    public void Mistakes_are_one_line_errors_and_leave_the_model_untouched()
    {
        using var dir = new TempDir();
        var (model, discovery) = Discover(dir);
        var cluster = NewCluster(discovery).ToString(System.Globalization.CultureInfo.InvariantCulture);
        var snapshot = Snapshot(model);
        using var otherDir = new TempDir();
        var (other, _) = Discover(otherDir, seed: 1);
        var noAssignments = dir.File("gcd-incomplete");
        Directory.CreateDirectory(noAssignments);
        File.Copy(Path.Combine(discovery, "clusters.json"), Path.Combine(noAssignments, "clusters.json"));

        void Fails(string expected, string modelDir, string discoveryDir, string clusterId, string name)
        {
            var r = CliRunner.Run(Cli, "--model", modelDir, "--discovery", discoveryDir, "--cluster", clusterId, "--name", name, "--threads", "1");
            Assert.Equal(2, r.ExitCode);
            Assert.Single(r.Stderr.Trim().Split('\n'));
            Assert.Contains(expected, r.Stderr);
        }
        Fails("protea: --cluster: cluster 9 is not one of the discovery's clusters (0-2)", model, discovery, "9", "virginica");
        Fails("protea: --cluster: cluster 0 stands for the known class 'setosa'", model, discovery, "0", "virginica");
        Fails("protea: --name: class 'setosa' is already one of the model's classes", model, discovery, cluster, "setosa");
        Fails("protea: --model: " + other + ": the discovery was made with another model", other, discovery, cluster, "virginica");
        Fails("assignments.csv: not found", model, noAssignments, cluster, "virginica");
        Fails("protea: --discovery: " + dir.File("none") + ": no such folder", model, dir.File("none"), cluster, "virginica");
        Assert.Equal(snapshot, Snapshot(model));
        Assert.Equal(2, ModelBundle.ReadDescription(other).ClassNames.Count);
    }

    [Fact]
    public void Assignment_rows_with_quoted_ids_are_read()
    {
        using var dir = new TempDir();
        var path = dir.File("assignments.csv");
        File.WriteAllLines(path, ["id,cluster", "a,1", "\"b,\"\"c\"\"\",1", "d,0", "", "e,10"]);
        Assert.Equal(["a", "b,\"c\""], ClusterAdoption.ReadAssignments(path, 1));
        File.WriteAllLines(path, ["id,cluster", "a,x"]);
        var e = Assert.Throws<ProteaException>(() => ClusterAdoption.ReadAssignments(path, 1));
        Assert.Contains("line 2", e.Message);
    }
}

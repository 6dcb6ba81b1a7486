using System.Globalization;
using System.Text.Json;
using Protea.Data;
using Protea.Discovery;
using Protea.IO;
using Protea.Models;
using Protea.Predictions;
using static TorchSharp.torch;

namespace Protea.Incremental;

/// <summary>What <see cref="ClusterAdoption.Adopt"/> did: the cluster, the class it became, how many items defined it, and the growth itself.</summary>
public sealed record AdoptionResult(int Cluster, string Name, int Items, LearnClassResult Learned);

/// <summary>
/// Turns a cluster that <c>protea discover</c> found into a new class of the saved model it was found
/// with (<c>protea adopt</c>): the cluster's unlabelled items (assignments.csv) are read from the data
/// that clusters.json records and given to <see cref="ClassLearner.AddClasses"/> (ncm or teen: no
/// training, old classes score as before; the model is replaced atomically). The adoption is recorded in
/// clusters.json with the weights' new SHA-256, so further clusters of the same discovery can be adopted
/// into the grown model, and a cluster is not adopted twice. Everything is checked before the model is touched.
/// </summary>
public static class ClusterAdoption
{
    public static AdoptionResult Adopt(string modelDir, string discoveryDir, int clusterId, string name, string method = "ncm")
    {
        if (string.IsNullOrWhiteSpace(name)) throw new ProteaException("the adopted class needs a name", "name");
        if (method == "icarl")
            throw new ProteaException("method 'icarl' needs exemplars of the old classes, which a saved model does not keep; use ncm or teen", "method");
        var document = ReadDocument(discoveryDir);
        var description = ModelBundle.ReadDescription(modelDir);
        var cluster = document.Clusters.FirstOrDefault(c => c.Id == clusterId)
            ?? throw new ProteaException($"cluster {clusterId} is not one of the discovery's clusters (0-{document.Clusters.Count - 1})", "cluster");
        if (cluster.Matches != CategoryDiscovery.New)
            throw new ProteaException($"cluster {clusterId} stands for the known class '{cluster.Matches}'; only new clusters are adopted", "cluster");
        var adopted = document.Adopted ?? [];
        if (adopted.FirstOrDefault(a => a.Cluster == clusterId) is { } done)
            throw new ProteaException($"cluster {clusterId} was already adopted as class '{done.Name}'", "cluster");
        if (description.ClassNames.Contains(name, StringComparer.Ordinal))
            throw new ProteaException($"class '{name}' is already one of the model's classes", "name");
        CheckSameModel(modelDir, description, document);

        var ids = ReadAssignments(Path.Combine(discoveryDir, document.AssignmentsFile), clusterId);
        if (ids.Count == 0) throw new ProteaException($"cluster {clusterId} has no unlabelled items to make a class of", "cluster");
        using var items = LoadItems(document, description, ids, clusterId);
        var result = ClassLearner.AddClasses(modelDir, [new NewClass(name, items)], method);
        var record = new CategoryDiscovery.AdoptedCluster(clusterId, name, ModelBundle.WeightsSha256(modelDir));
        AtomicFile.WriteAllText(Path.Combine(discoveryDir, CategoryDiscovery.ClustersFile),
            JsonSerializer.Serialize(document with { Adopted = [.. adopted, record] }, ProteaJson.Options));
        return new AdoptionResult(clusterId, name, ids.Count, result);
    }

    private static CategoryDiscovery.ClustersDocument ReadDocument(string discoveryDir)
    {
        var path = Path.Combine(discoveryDir, CategoryDiscovery.ClustersFile);
        if (!Directory.Exists(discoveryDir)) throw new ProteaException($"{discoveryDir}: no such folder; a discovery folder is what discover writes", "discovery");
        if (!File.Exists(path)) throw new ProteaException($"{path}: not found; {discoveryDir} is not a discovery folder", "discovery");
        try
        {
            return JsonSerializer.Deserialize<CategoryDiscovery.ClustersDocument>(File.ReadAllText(path), ProteaJson.Options)
                ?? throw new ProteaException($"{path}: empty", "discovery");
        }
        catch (JsonException e)
        {
            throw new ProteaException($"{path}: not a valid clusters file ({e.Message.Split('\n')[0]})", "discovery");
        }
    }

    /// <summary>
    /// The clusters are the model's only if its weights are those the discovery embedded with, or those an
    /// earlier adoption from this discovery left. A clusters.json without the SHA (older files) is checked
    /// by the known classes only.
    /// </summary>
    private static void CheckSameModel(string modelDir, ModelDescription d, CategoryDiscovery.ClustersDocument document)
    {
        var expected = document.Adopted is { Count: > 0 } a ? a[^1].WeightsSha256 : document.ModelWeightsSha256;
        if (expected is null)
        {
            if (!d.ClassNames.Take(document.KnownClasses.Count).SequenceEqual(document.KnownClasses))
                throw new ProteaException($"the discovery was made with a model of the classes {string.Join(", ", document.KnownClasses)}, not this one ({string.Join(", ", d.ClassNames)})", "model");
            return;
        }
        var sha = ModelBundle.WeightsSha256(modelDir);
        if (!string.Equals(sha, expected, StringComparison.OrdinalIgnoreCase))
            throw new ProteaException($"{modelDir}: the discovery was made with another model (or this one changed since): weights SHA-256 {sha[..12]}…, the discovery's {expected[..Math.Min(12, expected.Length)]}…; run discover again with this model", "model");
    }

    /// <summary>The ids assigned to <paramref name="clusterId"/>, in file order.</summary>
    public static List<string> ReadAssignments(string path, int clusterId)
    {
        if (!File.Exists(path)) throw new ProteaException($"{path}: not found; the discovery folder is incomplete", "discovery");
        var lines = File.ReadAllLines(path);
        if (lines.Length == 0 || lines[0].Trim() != "id,cluster")
            throw new ProteaException($"{path}: the first line must be the header id,cluster", "discovery");
        var ids = new List<string>();
        for (var i = 1; i < lines.Length; i++)
        {
            if (lines[i].Length == 0) continue;
            var (id, cluster) = SplitRow(lines[i]);
            if (!int.TryParse(cluster, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var c))
                throw new ProteaException($"{path} line {i + 1}: expected id,cluster, got '{lines[i]}'", "discovery");
            if (c == clusterId) ids.Add(id);
        }
        return ids;
    }

    /// <summary>Splits "id,cluster" where the id may be quoted (as discover writes ids holding commas or quotes).</summary>
    private static (string Id, string Cluster) SplitRow(string line)
    {
        var comma = line.LastIndexOf(',');
        if (comma < 0) return (line, "");
        var id = line[..comma];
        if (id.Length >= 2 && id[0] == '"' && id[^1] == '"') id = id[1..^1].Replace("\"\"", "\"");
        return (id, line[(comma + 1)..].Trim());
    }

    /// <summary>The raw inputs of the items <paramref name="ids"/>, read from the discovery's data as the model takes it.</summary>
    private static Tensor LoadItems(CategoryDiscovery.ClustersDocument document, ModelDescription d, IReadOnlyList<string> ids, int clusterId)
    {
        DataSplits splits;
        DataSpec spec;
        try
        {
            spec = ModelInputs.ForModel(DataSpec.Parse(document.Data, new DataSpecOptions { LabelColumn = document.LabelColumn, IdColumn = document.IdColumn }), d);
            splits = spec.Load();
        }
        catch (ProteaException e)
        {
            throw new ProteaException($"the discovery's data: {e.Message}", "discovery");
        }
        using (splits)
        {
            try
            {
                ModelInputs.CheckCompatible(splits.Train, d, spec);
            }
            catch (ProteaException e)
            {
                throw new ProteaException($"the discovery's data: {e.Message}", "discovery");
            }
            var rows = new Dictionary<string, (Dataset Part, long Row)>(StringComparer.Ordinal);
            foreach (var part in new[] { splits.Test, splits.Train })
                if (part is not null)
                    for (var i = 0; i < part.Count; i++) rows[part.Ids[i]] = (part, i);
            var missing = ids.FirstOrDefault(id => !rows.ContainsKey(id));
            if (missing is not null)
                throw new ProteaException($"item '{missing}' of cluster {clusterId} is not in {document.Data} (the data changed since discovery?)", "discovery");
            // The items are read from the training part (as discover read them) unless an id is only in the test part.
            var pieces = ids.Select(id => rows[id]).GroupBy(r => r.Part).Select(g =>
            {
                return g.Key.Gather(g.Select(r => r.Row).ToArray());
            }).ToArray();
            var result = cat(pieces, 0);
            foreach (var p in pieces) p.Dispose();
            return result;
        }
    }
}

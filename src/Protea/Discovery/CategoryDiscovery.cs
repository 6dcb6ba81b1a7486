using System.Diagnostics;
using System.Globalization;
using System.Text;
using System.Text.Json;
using Protea.Data;
using Protea.Deploy;
using Protea.Evaluation;
using Protea.IO;
using Protea.Models;
using Protea.Predictions;
using Protea.Training;
using TorchSharp;
using static TorchSharp.torch;

namespace Protea.Discovery;

/// <summary>
/// Generalized category discovery (Vaze et al. 2022) as `protea discover` performs it: read labelled and
/// unlabelled items (the data's training part), embed them with a saved model or with one trained here
/// on the labelled items, L2-normalise the embeddings, estimate k (or take it), cluster with
/// <see cref="SemiSupervisedKMeans"/> (cluster c = known class c, the others new) and write
/// assignments.csv (id, cluster: one row per unlabelled item), clusters.json (per cluster its size, the
/// known class it stands for or "new", and its most representative item ids), and clusters.png
/// (images: the representatives of each cluster) or cluster-means.csv (tables: feature means).
/// </summary>
public static class CategoryDiscovery
{
    public const string AssignmentsFile = "assignments.csv";
    public const string ClustersFile = "clusters.json";
    public const string GridFile = "clusters.png";
    public const string MeansFile = "cluster-means.csv";
    public const string ModelFolder = "model";
    public const string New = "new";

    /// <summary>
    /// clusters.json: the clusters with what produced them (adoption reads the model, data and item ids
    /// from here): the data spec with its CSV label and id columns, the SHA-256 of the model's weights
    /// file the embeddings came from, and the clusters adopted since as classes of that model.
    /// </summary>
    public sealed record ClustersDocument(string Data, string? Model, IReadOnlyList<string> KnownClasses, int K,
        string AssignmentsFile, IReadOnlyList<DiscoveredCluster> Clusters, string? LabelColumn = null, string? IdColumn = null,
        string? ModelWeightsSha256 = null, IReadOnlyList<AdoptedCluster>? Adopted = null);

    /// <summary>A cluster adopted as a class (<c>protea adopt</c>): the name it got and the SHA-256 of the model's weights after.</summary>
    public sealed record AdoptedCluster(int Cluster, string Name, string WeightsSha256);

    public static DiscoveryResult Run(DataSpec spec, DiscoveryOptions o, string outDir, IProgress<string>? progress = null)
    {
        if (o.LabelledFraction is <= 0 or > 1)
            throw new ProteaException($"labelled fraction {o.LabelledFraction}: must be in (0, 1]", "labelled_fraction");
        if (o.KnownClasses is not null && o.HideLabelsOf is not null)
            throw new ProteaException("give the known classes or the classes to hide, not both", "hide_labels_of");
        torch.set_num_threads(o.Threads);
        var phases = new Dictionary<string, double>();
        var clock = Stopwatch.StartNew();
        void Phase(string name) { phases[name] = Math.Round(clock.Elapsed.TotalSeconds, 3); clock.Restart(); progress?.Report(name); }

        var description = o.Model is { } modelDir ? ModelBundle.ReadDescription(modelDir) : null;
        // ONNX gives embeddings only: asking for that engine means the model's embedding unless a grid is named.
        var grid = GridEmbeddings.For(description?.Architecture ?? o.Train.Architecture,
            o.PoolGrid ?? (description is not null && o.Engine == EngineChoice.Onnx ? 1 : null));
        if (grid > 1 && description is not null && o.Engine == EngineChoice.Onnx)
            throw new ProteaException($"pool grid {grid} reads the backbone's feature map, which only the torch engine gives; use --engine torch or --pool-grid 1", "engine");
        var fitted = description is null ? spec : ModelInputs.ForModel(spec, description);
        using var splits = fitted.Load();
        using var limited = o.Limit is { } limit ? splits.Train.Sample(limit, o.Seed) : null;
        var data = limited ?? splits.Train;
        if (description is not null) ModelInputs.CheckCompatible(data, description, fitted);
        var (labels, truth, knownNames, truthNames) = Labels(data, o);
        var labelledCount = labels.Count(l => l >= 0);
        var unlabelledRows = Enumerable.Range(0, data.Count).Where(i => labels[i] < 0).ToArray();
        if (labelledCount == 0)
            throw new ProteaException($"{spec}: no labelled items of known classes; discovery needs some", "data");
        if (unlabelledRows.Length == 0)
            throw new ProteaException($"{spec}: no unlabelled items to discover classes in", "data");
        Phase("load");

        Directory.CreateDirectory(outDir);
        var modelUsed = o.Model;
        if (modelUsed is null)
        {
            modelUsed = Path.Combine(outDir, ModelFolder);
            TrainModel(data, labels, knownNames, o, modelUsed, splits);
            Phase("train");
        }
        using var x = Embed(modelUsed, modelUsed == o.Model ? o.Engine : EngineChoice.Torch, data, grid, o.Threads);
        Phase("embed");

        var kOptions = new KMeansOptions { Restarts = o.Restarts, MaxIterations = o.MaxIterations, Seed = o.Seed };
        KEstimate? estimate = null;
        var k = o.K ?? 0;
        if (o.K is null)
        {
            var kMin = o.KMin ?? knownNames.Count;
            var kMax = Math.Min(o.KMax ?? Math.Max(2 * knownNames.Count, knownNames.Count + 10), data.Count - 1);
            estimate = KEstimator.Estimate(x, labels, kMin, kMax, o.KCriterion, kOptions with { Restarts = Math.Min(o.Restarts, 3) }, tolerance: o.KTolerance);
            k = estimate.K;
            Phase("estimate_k");
        }
        using var clustering = SemiSupervisedKMeans.Fit(x, labels, k, kOptions);
        Phase("cluster");

        var clusters = Describe(clustering, x, labels, data.Ids, knownNames, o.Representatives);
        DiscoveryMetrics? metrics = null;
        var scored = unlabelledRows.Where(i => truth[i] >= 0).ToArray();
        if (scored.Length > 0)
        {
            var t = scored.Select(i => truth[i]).ToArray();
            var p = scored.Select(i => clustering.Assignments[i]).ToArray();
            var knownTruth = knownNames.Select(n => truthNames.IndexOf(n)).Where(i => i >= 0).ToArray();
            var acc = ClusteringMetrics.Accuracy(t, p, knownTruth);
            metrics = new DiscoveryMetrics(scored.Length, acc.All, acc.Old, acc.New, ClusteringMetrics.Nmi(t, p), ClusteringMetrics.Ari(t, p));
        }
        var files = new List<string> { Path.Combine(outDir, AssignmentsFile), Path.Combine(outDir, ClustersFile) };
        var csv = new StringBuilder("id,cluster\n");
        foreach (var i in unlabelledRows) csv.Append(CsvField(data.Ids[i])).Append(',').Append(clustering.Assignments[i].ToString(CultureInfo.InvariantCulture)).Append('\n');
        AtomicFile.WriteAllText(files[0], csv.ToString());
        // Full paths, so that adoption can read the data and model from any working directory.
        var dataRecorded = spec.Kind == DataSourceKind.FashionMnist ? spec.ToString() : Path.GetFullPath(spec.Path);
        var document = new ClustersDocument(dataRecorded, Path.GetFullPath(modelUsed), knownNames, k, AssignmentsFile, clusters,
            spec.LabelColumn, spec.IdColumn, ModelBundle.WeightsSha256(modelUsed));
        AtomicFile.WriteAllText(files[1], JsonSerializer.Serialize(document, ProteaJson.Options));
        if (data.Kind == InputKind.Image)
        {
            files.Add(Path.Combine(outDir, GridFile));
            ClusterGrid.Save(files[^1], data, clusters);
        }
        else
        {
            files.Add(Path.Combine(outDir, MeansFile));
            WriteMeans(files[^1], data, clustering.Assignments, clusters, splits.FeatureNames);
        }
        Phase("write");
        return new DiscoveryResult(spec.ToString(), modelUsed, outDir, data.Count, labelledCount, unlabelledRows.Length, knownNames, grid, (int)x.shape[1], k, estimate,
            clusters, metrics, phases, files);
    }

    /// <summary>
    /// The L2-normalised embeddings clustered: the grid-pooled feature maps (<see cref="GridEmbeddings"/>,
    /// on the torch engine) or, with a 1×1 grid, the model's embeddings on the chosen engine.
    /// </summary>
    private static Tensor Embed(string modelDir, EngineChoice engineChoice, Dataset data, int grid, int threads)
    {
        if (grid == 1)
        {
            using var engine = InferenceEngines.Open(modelDir, engineChoice, threads);
            var output = InferenceEngines.RunAll(engine, data);
            using var raw = tensor(output.Embeddings, [data.Count, output.EmbeddingDim]);
            return Embeddings.Normalize(raw);
        }
        using var bundle = ModelBundle.Load(modelDir);
        using var pooled = GridEmbeddings.Compute(bundle, data, grid);
        return Embeddings.Normalize(pooled);
    }

    /// <summary>
    /// Per item: the clustering label (index into the known classes, −1 unlabelled), the ground truth
    /// (index into the truth class names, −1 unknown), the known class names and the truth class names.
    /// </summary>
    internal static (long[] Labels, int[] Truth, List<string> Known, List<string> TruthNames) Labels(Dataset data, DiscoveryOptions o)
    {
        var names = data.ClassNames;
        var present = data.Labels.Where(l => l >= 0).Select(l => (int)l).ToHashSet();
        int[] known;
        if (o.KnownClasses is { } k) known = ClassSubset.Parse(k).Resolve(names);
        else if (o.HideLabelsOf is { } h)
        {
            var hidden = ClassSubset.Parse(h).Resolve(names).ToHashSet();
            known = Enumerable.Range(0, names.Count).Where(c => !hidden.Contains(c) && present.Contains(c)).ToArray();
        }
        else known = Enumerable.Range(0, names.Count).Where(present.Contains).ToArray();
        var knownIndex = known.Select((c, i) => (c, i)).ToDictionary(p => p.c, p => (long)p.i);
        var truthNames = names.ToList();
        var truth = data.Labels.Select(l => (int)l).ToArray();
        if (o.TruthFile is { } file)
        {
            var byId = new Dictionary<string, int>();
            for (var i = 0; i < data.Count; i++) byId[data.Ids[i]] = i;
            foreach (var (id, label, line) in ReadTruth(file))
            {
                if (!byId.TryGetValue(id, out var row)) continue;
                var c = truthNames.IndexOf(label);
                if (c < 0) { truthNames.Add(label); c = truthNames.Count - 1; }
                if (truth[row] >= 0 && truth[row] != c)
                    throw new ProteaException($"{file} line {line}: item '{id}' is labelled '{names[truth[row]]}' in the data, not '{label}'", "truth");
                truth[row] = c;
            }
        }
        var random = new Random(o.Seed);
        var labels = new long[data.Count];
        for (var i = 0; i < data.Count; i++)
        {
            var keep = data.Labels[i] >= 0 && knownIndex.ContainsKey((int)data.Labels[i]) && random.NextDouble() < o.LabelledFraction;
            labels[i] = keep ? knownIndex[(int)data.Labels[i]] : -1;
        }
        return (labels, truth, known.Select(c => names[c]).ToList(), truthNames);
    }

    private static IEnumerable<(string Id, string Label, int Line)> ReadTruth(string file)
    {
        if (!File.Exists(file)) throw new ProteaException($"truth file {file} does not exist", "truth");
        var lines = File.ReadAllLines(file);
        if (lines.Length == 0 || lines[0].Trim().ToLowerInvariant().Replace(" ", "") != "id,label")
            throw new ProteaException($"{file}: the first line must be the header id,label", "truth");
        for (var i = 1; i < lines.Length; i++)
        {
            if (lines[i].Trim().Length == 0) continue;
            var parts = lines[i].Split(',');
            if (parts.Length != 2 || parts[1].Trim().Length == 0)
                throw new ProteaException($"{file} line {i + 1}: expected id,label, got '{lines[i]}'", "truth");
            yield return (parts[0].Trim(), parts[1].Trim(), i + 1);
        }
    }

    private static void TrainModel(Dataset data, long[] labels, List<string> knownNames, DiscoveryOptions o, string modelDir, DataSplits splits)
    {
        using var labelled = data.Relabel(labels, knownNames);
        var options = o.Train with { Seed = o.Seed, Threads = o.Threads };
        torch.manual_seed(options.Seed);
        var training = new Trainer(options).Train(labelled, null);
        using var bundle = training.Bundle;
        // Tables: the model keeps its columns and categories, so predict and eval read CSV files as discovery did.
        var described = bundle.Description with { FeatureNames = splits.FeatureNames, LabelColumn = splits.LabelColumn, Categorical = splits.Categorical };
        new ModelBundle(described, bundle.Model).Save(modelDir);
    }

    private static List<DiscoveredCluster> Describe(KMeansResult clustering, Tensor x, long[] labels, IReadOnlyList<string> ids,
        List<string> knownNames, int representatives)
    {
        using var scope = NewDisposeScope();
        var distances = cdist(x, clustering.Centroids).square();
        var d = distances.ToFloats();
        var result = new List<DiscoveredCluster>();
        for (var c = 0; c < clustering.K; c++)
        {
            var members = Enumerable.Range(0, labels.Length).Where(i => clustering.Assignments[i] == c).ToArray();
            var unlabelled = members.Where(i => labels[i] < 0).ToArray();
            var pool = unlabelled.Length > 0 ? unlabelled : members;
            var nearest = pool.OrderBy(i => d[i * clustering.K + c]).ThenBy(i => i).Take(representatives).Select(i => ids[i]).ToList();
            result.Add(new DiscoveredCluster(c, unlabelled.Length, members.Length - unlabelled.Length, c < knownNames.Count ? knownNames[c] : New, nearest));
        }
        return result;
    }

    private static void WriteMeans(string path, Dataset data, int[] assignments, IReadOnlyList<DiscoveredCluster> clusters, IReadOnlyList<string>? featureNames)
    {
        var features = data.Inputs.to(float64).contiguous().data<double>().ToArray();
        var dim = (int)data.ExampleShape[0];
        var names = featureNames ?? Enumerable.Range(0, dim).Select(i => $"f{i}").ToList();
        var sb = new StringBuilder("cluster,matches,size,").Append(string.Join(",", names.Select(CsvField))).Append('\n');
        foreach (var cluster in clusters)
        {
            var members = Enumerable.Range(0, assignments.Length).Where(i => assignments[i] == cluster.Id).ToArray();
            sb.Append(cluster.Id).Append(',').Append(CsvField(cluster.Matches)).Append(',').Append(members.Length);
            for (var j = 0; j < dim; j++)
                sb.Append(',').Append(members.Length == 0 ? "" : members.Average(i => features[i * dim + j]).ToString("G6", CultureInfo.InvariantCulture));
            sb.Append('\n');
        }
        AtomicFile.WriteAllText(path, sb.ToString());
    }

    private static string CsvField(string s) => s.IndexOfAny([',', '"', '\n']) < 0 ? s : "\"" + s.Replace("\"", "\"\"") + "\"";
}

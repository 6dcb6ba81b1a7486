using System.Globalization;
using System.Text.Json;
using Protea.Data;
using Protea.Deploy;
using Protea.Models;
using Protea.Predictions;
using static TorchSharp.torch;

namespace Protea.Search;

/// <summary>
/// A model's L2-normalised embeddings of a data set's items, with what names them: item ids, labels and
/// class names, the data root (image folders: an item's path is root/id) and the SHA-256 of the model's
/// weights, so an index is only ever searched with the model that built it. Saved as one safetensors
/// file: tensors <c>embeddings</c> (float32 [N, D]) and <c>labels</c> (int64 [N], -1 unlabelled); the
/// rest as strings in the header's <c>__metadata__</c> (ids and class names as JSON arrays).
/// </summary>
public sealed class EmbeddingIndex : IDisposable
{
    public const int CurrentFormatVersion = 1;
    private const string VersionKey = "protea_index_version";

    public EmbeddingIndex(Tensor embeddings, long[] labels, IReadOnlyList<string> ids, IReadOnlyList<string> classNames, InputKind kind,
        string modelDirectory, string modelWeightsSha256, string data, string? dataRoot)
    {
        if (embeddings.dim() != 2 || embeddings.dtype != ScalarType.Float32)
            throw new ArgumentException($"embeddings must be float32 [N, D], not {embeddings.dtype} [{string.Join(", ", embeddings.shape)}]");
        if (embeddings.shape[0] != labels.Length || ids.Count != labels.Length)
            throw new ArgumentException($"{embeddings.shape[0]} embeddings, {labels.Length} labels and {ids.Count} ids");
        Embeddings = embeddings;
        Labels = labels;
        Ids = ids;
        ClassNames = classNames;
        Kind = kind;
        ModelDirectory = modelDirectory;
        ModelWeightsSha256 = modelWeightsSha256;
        Data = data;
        DataRoot = dataRoot;
    }

    /// <summary>float32 [N, D], each row of unit L2 norm (or zero).</summary>
    public Tensor Embeddings { get; }
    public long[] Labels { get; }
    public IReadOnlyList<string> Ids { get; }
    public IReadOnlyList<string> ClassNames { get; }
    public InputKind Kind { get; }

    /// <summary>The model folder the index was built with (full path at build time).</summary>
    public string ModelDirectory { get; }

    /// <summary>Lower-case hex SHA-256 of that model's model.safetensors.</summary>
    public string ModelWeightsSha256 { get; }

    /// <summary>The data the items came from, as its spec names it.</summary>
    public string Data { get; }

    /// <summary>Image folders: the folder the ids are relative to (full path); null for other data.</summary>
    public string? DataRoot { get; }

    public int Count => Labels.Length;
    public int Dimension => (int)Embeddings.shape[1];

    /// <summary>Item <paramref name="item"/>'s file (image folders), else null.</summary>
    public string? PathOf(int item) => DataRoot is null ? null : Path.Combine(DataRoot, Ids[item].Replace('/', Path.DirectorySeparatorChar));

    /// <summary>Item <paramref name="item"/>'s class name, or null when it is unlabelled.</summary>
    public string? LabelOf(int item) => Labels[item] >= 0 ? ClassNames[(int)Labels[item]] : null;

    /// <summary>How many items each class has (indexed like <see cref="ClassNames"/>).</summary>
    public int[] ClassCounts()
    {
        var counts = new int[ClassNames.Count];
        foreach (var l in Labels)
            if (l >= 0) counts[l]++;
        return counts;
    }

    /// <summary>
    /// Embeds the training items of <paramref name="spec"/> (all items when it has no split) with the model in
    /// <paramref name="modelDir"/> on the engine <paramref name="engine"/> picks. Sets no torch threads: the host does.
    /// </summary>
    public static EmbeddingIndex Build(string modelDir, DataSpec spec, EngineChoice engine = EngineChoice.Auto, int threads = 0,
        CancellationToken cancellation = default)
    {
        var description = ModelBundle.ReadDescription(modelDir);
        var fitted = ModelInputs.ForModel(spec, description);
        using var splits = fitted.Load();
        var data = splits.Train;
        ModelInputs.CheckCompatible(data, description, fitted);
        var sha = ModelBundle.WeightsSha256(modelDir);
        using var opened = InferenceEngines.Open(modelDir, engine, threads);
        var output = InferenceEngines.RunAll(opened, data, cancellation: cancellation);
        using var raw = tensor(output.Embeddings, [output.Count, output.EmbeddingDim]);
        var root = fitted.Kind == DataSourceKind.ImageFolder ? Path.GetFullPath(fitted.Path) : null;
        return new EmbeddingIndex(ExactSearch.Normalize(raw), (long[])data.Labels.Clone(), data.Ids.ToArray(), data.ClassNames.ToArray(),
            data.Kind, Path.GetFullPath(modelDir), sha, fitted.ToString(), root);
    }

    /// <summary>Writes the index to one file, atomically.</summary>
    public void Save(string path)
    {
        var metadata = new Dictionary<string, string>
        {
            [VersionKey] = CurrentFormatVersion.ToString(CultureInfo.InvariantCulture),
            ["embedding_dim"] = Dimension.ToString(CultureInfo.InvariantCulture),
            ["count"] = Count.ToString(CultureInfo.InvariantCulture),
            ["input_kind"] = Kind == InputKind.Image ? "image" : "tabular",
            ["model_dir"] = ModelDirectory,
            ["model_weights_sha256"] = ModelWeightsSha256,
            ["data"] = Data,
            ["ids"] = JsonSerializer.Serialize(Ids),
            ["class_names"] = JsonSerializer.Serialize(ClassNames),
        };
        if (DataRoot is not null) metadata["data_root"] = DataRoot;
        using var labels = tensor(Labels, ScalarType.Int64);
        Models.SafeTensors.Write(path, [new("embeddings", Embeddings), new("labels", labels)], metadata);
    }

    /// <summary>Reads and checks an index file; a damaged file or one that is not an index is refused with the fix.</summary>
    public static EmbeddingIndex Load(string path)
    {
        Dictionary<string, Tensor> tensors;
        IReadOnlyDictionary<string, string> meta;
        try
        {
            tensors = Models.SafeTensors.Read(path, out meta);
        }
        catch (ProteaException e) when (File.Exists(path))
        {
            throw new ProteaException($"{Bad(path)}: {e.Message.Replace(path + ": ", "")}; build the index again from the model and data", "index");
        }
        try
        {
            if (!meta.TryGetValue(VersionKey, out var versionText))
                throw new ProteaException($"{path}: not a search index (a safetensors file without index metadata); build an index from the model and data", "index");
            if (!int.TryParse(versionText, CultureInfo.InvariantCulture, out var version) || version < 1 || version > CurrentFormatVersion)
                throw new ProteaException($"{path}: index format version '{versionText}' is not supported (this Protea reads version {CurrentFormatVersion}); build the index again or upgrade Protea", "index");
            string Meta(string key) => meta.TryGetValue(key, out var v) ? v : throw Damaged(path, $"metadata '{key}' is missing");
            if (!tensors.TryGetValue("embeddings", out var embeddings) || embeddings.dtype != ScalarType.Float32 || embeddings.dim() != 2)
                throw Damaged(path, "no float32 [N, D] tensor 'embeddings'");
            if (!tensors.TryGetValue("labels", out var labelTensor) || labelTensor.dtype != ScalarType.Int64 || labelTensor.dim() != 1)
                throw Damaged(path, "no int64 [N] tensor 'labels'");
            var n = embeddings.shape[0];
            var dim = embeddings.shape[1];
            if (Meta("embedding_dim") != dim.ToString(CultureInfo.InvariantCulture))
                throw Damaged(path, $"embeddings have {dim} dimensions but the metadata says {Meta("embedding_dim")}");
            if (Meta("count") != n.ToString(CultureInfo.InvariantCulture) || labelTensor.shape[0] != n)
                throw Damaged(path, $"{n} embeddings, {labelTensor.shape[0]} labels, but the metadata says {Meta("count")} items");
            var ids = Strings(path, Meta("ids"), "ids");
            var classNames = Strings(path, Meta("class_names"), "class_names");
            if (ids.Length != n) throw Damaged(path, $"{ids.Length} ids for {n} items");
            var labels = labelTensor.data<long>().ToArray();
            if (labels.Any(l => l < -1 || l >= classNames.Length))
                throw Damaged(path, $"a label is outside the {classNames.Length} classes");
            var kind = Meta("input_kind") switch
            {
                "image" => InputKind.Image,
                "tabular" => InputKind.Tabular,
                var other => throw Damaged(path, $"input kind '{other}' is not image or tabular"),
            };
            labelTensor.Dispose();
            return new EmbeddingIndex(embeddings, labels, ids, classNames, kind, Meta("model_dir"), Meta("model_weights_sha256"), Meta("data"),
                meta.TryGetValue("data_root", out var root) ? root : null);
        }
        catch
        {
            foreach (var t in tensors.Values) t.Dispose();
            throw;
        }
    }

    /// <summary>
    /// Refuses a model other than the one that built the index: a different weights file (SHA-256) or an
    /// embedding of another size. <paramref name="path"/> names the index in messages.
    /// </summary>
    public void CheckModel(string modelDir, string path)
    {
        var description = ModelBundle.ReadDescription(modelDir);
        if (description.Embedding is { } e && e.Dim != Dimension)
            throw new ProteaException($"{path}: the index holds {Dimension}-dimensional embeddings but the model in {modelDir} gives {e.Dim}; build the index with this model", "index");
        if (description.InputKind != Kind)
            throw new ProteaException($"{path}: the index holds {Kind.ToString().ToLowerInvariant()} items but the model in {modelDir} takes {description.InputKind.ToString().ToLowerInvariant()} input; build the index with this model", "index");
        var sha = ModelBundle.WeightsSha256(modelDir);
        if (!string.Equals(sha, ModelWeightsSha256, StringComparison.OrdinalIgnoreCase))
            throw new ProteaException($"{path}: the index was built with another model (weights SHA-256 {ModelWeightsSha256[..Math.Min(12, ModelWeightsSha256.Length)]}, {modelDir} has {sha[..12]}); build the index again with this model, or search with the model that built it", "index");
    }

    private static string[] Strings(string path, string json, string key)
    {
        try
        {
            return JsonSerializer.Deserialize<string[]>(json) ?? throw Damaged(path, $"metadata '{key}' is null");
        }
        catch (JsonException)
        {
            throw Damaged(path, $"metadata '{key}' is not a JSON array of strings");
        }
    }

    private static string Bad(string path) => $"{path}: not a valid search index";

    private static ProteaException Damaged(string path, string what) =>
        new($"{Bad(path)}: {what}; build the index again from the model and data", "index");

    public void Dispose() => Embeddings.Dispose();
}

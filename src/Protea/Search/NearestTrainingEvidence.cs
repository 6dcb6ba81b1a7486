using System.Security.Cryptography;
using System.Text.Json;
using Protea.Data;
using Protea.Deploy;
using Protea.IO;
using Protea.Models;
using Protea.Predictions;
using static TorchSharp.torch;

namespace Protea.Search;

/// <summary>A training item close to the input, of the class the model predicted: evidence by example.</summary>
/// <param name="Id">The item's id in the training data.</param>
/// <param name="Path">The training image file (image folders), else null.</param>
/// <param name="Similarity">Cosine similarity of the input's embedding to the item's.</param>
public sealed record NearestItemEvidence(string Id, string? Path, string Label, double Similarity) : Evidence("nearest_training_item");

/// <summary>model.json's "training_index": the kept index file in the model folder, its SHA-256 and size.</summary>
public sealed record TrainingIndexDescription(string File, string Sha256, int Items);

/// <summary>
/// The training set's embeddings kept with a model (`protea train --keep-index`): an
/// <see cref="EmbeddingIndex"/> saved as DIR/train.index, recorded with its SHA-256 in model.json's
/// "training_index" section and bound to the weights by the index's own model hash, so a damaged,
/// replaced or stale file is refused. <see cref="Explain"/> fills each prediction's evidence with
/// the nearest training items of the class it predicted (any head that reads the embedding: linear,
/// cosine, ncm).
/// </summary>
public sealed class NearestTrainingEvidence : IDisposable
{
    public const string FileName = "train.index";
    public const int DefaultItems = 3;

    private NearestTrainingEvidence(EmbeddingIndex index) => Index = index;

    public EmbeddingIndex Index { get; }

    /// <summary>
    /// Embeds <paramref name="train"/> with the model saved in <paramref name="modelDir"/> (TorchSharp),
    /// writes DIR/train.index and records it in DIR/model.json, each atomically.
    /// </summary>
    /// <param name="spec">The data spec the items came from (image folders: their ids are relative to its path).</param>
    public static TrainingIndexDescription Keep(string modelDir, Dataset train, DataSpec spec, int threads = 0, CancellationToken cancellation = default)
    {
        var description = ModelBundle.ReadDescription(modelDir);
        var sha = ModelBundle.WeightsSha256(modelDir);
        EmbeddingIndex index;
        using (var engine = InferenceEngines.Open(modelDir, EngineChoice.Torch, threads))
        {
            var output = InferenceEngines.RunAll(engine, train, cancellation: cancellation);
            using var raw = tensor(output.Embeddings, [output.Count, output.EmbeddingDim]);
            var root = spec.Kind == DataSourceKind.ImageFolder ? System.IO.Path.GetFullPath(spec.Path) : null;
            index = new EmbeddingIndex(ExactSearch.Normalize(raw), (long[])train.Labels.Clone(), train.Ids.ToArray(), train.ClassNames.ToArray(),
                train.Kind, System.IO.Path.GetFullPath(modelDir), sha, spec.ToString(), root);
        }
        using (index)
        {
            var path = System.IO.Path.Combine(modelDir, FileName);
            index.Save(path);
            var section = new TrainingIndexDescription(FileName, Sha256(path), index.Count);
            AtomicFile.WriteAllText(ModelBundle.DescriptionPath(modelDir),
                JsonSerializer.Serialize(description with { TrainingIndex = section }, ProteaJson.Options));
            return section;
        }
    }

    /// <summary>
    /// Carries the index kept with the model in <paramref name="fromDir"/> over to its grown copy saved in
    /// <paramref name="toDir"/> (classes added, backbone unchanged, so the kept rows stay valid), with
    /// <paramref name="items"/> (raw inputs of the added classes, one class name and id per item) appended,
    /// embedded by the grown model (TorchSharp). Writes toDir/train.index bound to toDir's weights and
    /// records it in toDir/model.json, each atomically. Returns null, writing nothing, when
    /// <paramref name="fromDir"/> keeps no index.
    /// </summary>
    /// <param name="modelDirectory">The folder the grown model will live in (recorded in the index); null: <paramref name="toDir"/>.</param>
    public static TrainingIndexDescription? Extend(string fromDir, string toDir, Tensor items, IReadOnlyList<string> classes, IReadOnlyList<string> ids,
        string? modelDirectory = null)
    {
        using var kept = Open(fromDir);
        if (kept is null) return null;
        var old = kept.Index;
        if (items.shape[0] != classes.Count || ids.Count != classes.Count)
            throw new ArgumentException($"{items.shape[0]} items, {classes.Count} class names and {ids.Count} ids");
        var classNames = old.ClassNames.ToList();
        foreach (var c in classes)
            if (!classNames.Contains(c)) classNames.Add(c);
        using var scope = NewDisposeScope();
        InferenceOutput output;
        using (var engine = InferenceEngines.Open(toDir, EngineChoice.Torch))
            output = InferenceEngines.RunAll(engine, items);
        if (output.EmbeddingDim != old.Dimension)
            throw new ProteaException($"the grown model's embeddings are {output.EmbeddingDim}-dimensional, the kept index's {old.Dimension}; it cannot be carried over", "model");
        var added = ExactSearch.Normalize(tensor(output.Embeddings, [output.Count, output.EmbeddingDim]));
        var labels = old.Labels.Concat(classes.Select(c => (long)classNames.IndexOf(c))).ToArray();
        var index = new EmbeddingIndex(cat([old.Embeddings, added], 0), labels, [.. old.Ids, .. ids], classNames, old.Kind,
            System.IO.Path.GetFullPath(modelDirectory ?? toDir), ModelBundle.WeightsSha256(toDir), old.Data, old.DataRoot);
        var path = System.IO.Path.Combine(toDir, FileName);
        index.Save(path);                                   // its embeddings belong to this method's dispose scope
        var section = new TrainingIndexDescription(FileName, Sha256(path), index.Count);
        AtomicFile.WriteAllText(ModelBundle.DescriptionPath(toDir),
            JsonSerializer.Serialize(ModelBundle.ReadDescription(toDir) with { TrainingIndex = section }, ProteaJson.Options));
        return section;
    }

    /// <summary>The kept index of the model in <paramref name="modelDir"/>, checked; null when the model keeps none.</summary>
    public static NearestTrainingEvidence? Open(string modelDir)
    {
        var description = ModelBundle.ReadDescription(modelDir);
        if (description.TrainingIndex is not { } section) return null;
        var path = System.IO.Path.Combine(modelDir, System.IO.Path.GetFileName(section.File));
        if (!File.Exists(path))
            throw new ProteaException($"{path}: file not found; model.json's training index needs it (train again keeping the index)", "model");
        if (!string.Equals(Sha256(path), section.Sha256, StringComparison.OrdinalIgnoreCase))
            throw new ProteaException($"{path}: its SHA-256 differs from the one model.json recorded, so the file was damaged or replaced; train again keeping the index", "model");
        var index = EmbeddingIndex.Load(path);
        try
        {
            index.CheckModel(modelDir, path);
            if (index.Count != section.Items)
                throw new ProteaException($"{path}: {index.Count} items, model.json says {section.Items}; train again keeping the index", "model");
            return new NearestTrainingEvidence(index);
        }
        catch
        {
            index.Dispose();
            throw;
        }
    }

    /// <summary>
    /// Opens the model's kept index and returns the predictions with their evidence: per prediction,
    /// the <paramref name="items"/> training items of its predicted class most similar (cosine) to its embedding.
    /// </summary>
    public static IReadOnlyList<Prediction> Explain(string modelDir, IReadOnlyList<Prediction> predictions, int items = DefaultItems)
    {
        using var evidence = Open(modelDir)
            ?? throw new ProteaException($"the model in {modelDir} keeps no training index to explain its predictions with and its head has no prototypes; train it again keeping the index, or with the parts head", "explain");
        return evidence.Explain(predictions, items);
    }

    /// <summary>The predictions with <see cref="Prediction.Evidence"/> set to their nearest training items of the predicted class.</summary>
    public IReadOnlyList<Prediction> Explain(IReadOnlyList<Prediction> predictions, int items = DefaultItems)
    {
        if (items < 1) throw new ProteaException($"the number of evidence items must be at least 1, not {items}", "explain");
        if (predictions.Count == 0) return predictions;
        var dim = Index.Dimension;
        if (predictions.Any(p => p.Embedding.Count != dim))
            throw new ProteaException($"the predictions' embeddings are not {dim}-dimensional like the training index's; it belongs to another model", "model");
        using var scope = NewDisposeScope();
        using var queries = ExactSearch.Normalize(tensor(predictions.SelectMany(p => p.Embedding).ToArray(), [predictions.Count, dim]));
        using var similarity = queries.mm(Index.Embeddings.t());                // [Q, N]
        var classIndex = Index.ClassNames.Select((name, i) => (name, i)).ToDictionary(x => x.name, x => (long)x.i);
        using var labels = tensor(Index.Labels);
        var result = new Prediction[predictions.Count];
        for (var q = 0; q < predictions.Count; q++)
        {
            var p = predictions[q];
            if (!classIndex.TryGetValue(p.Class, out var c)) { result[q] = p with { Evidence = [] }; continue; }
            using var inner = NewDisposeScope();
            var mask = labels.eq(c);
            var candidates = mask.nonzero().squeeze(1);
            var available = (int)candidates.shape[0];
            if (available == 0) { result[q] = p with { Evidence = [] }; continue; }
            var row = similarity[q].index_select(0, candidates);
            var (values, order) = row.topk(Math.Min(items, available));
            var sims = values.ToFloats();
            var rows = candidates.index_select(0, order).data<long>().ToArray();
            result[q] = p with
            {
                Evidence = rows.Select((item, j) => (Evidence)new NearestItemEvidence(Index.Ids[(int)item], Index.PathOf((int)item), p.Class, sims[j])).ToArray(),
            };
        }
        return result;
    }

    private static string Sha256(string path)
    {
        using var stream = File.OpenRead(path);
        return Convert.ToHexStringLower(SHA256.HashData(stream));
    }

    public void Dispose() => Index.Dispose();
}

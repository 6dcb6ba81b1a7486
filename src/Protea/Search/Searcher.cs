using Protea.Data;
using Protea.Deploy;
using Protea.Evaluation;
using Protea.Models;
using Protea.Predictions;
using static TorchSharp.torch;

namespace Protea.Search;

/// <summary>
/// An index opened with the model that built it: embeds queries (files, CSV rows, a whole test set) on
/// the model's fast engine and finds their nearest indexed items by exact search. Sets no torch threads:
/// the host does (torch.set_num_threads); <c>threads</c> is ONNX Runtime's, per session.
/// </summary>
public sealed class Searcher : IDisposable
{
    private readonly IInferenceEngine engine;

    private Searcher(EmbeddingIndex index, string indexPath, string modelDir, IInferenceEngine engine, bool passedOver)
    {
        Index = index;
        IndexPath = indexPath;
        ModelDirectory = modelDir;
        this.engine = engine;
        PassedOverExport = passedOver;
    }

    public EmbeddingIndex Index { get; }
    public string IndexPath { get; }
    public string ModelDirectory { get; }

    /// <summary>The engine that embeds queries: "torch" or "onnx".</summary>
    public string EngineName => engine.Name;

    /// <summary>True when Auto found model.onnx stale or unreadable and runs TorchSharp instead.</summary>
    public bool PassedOverExport { get; }

    /// <summary>Queries per matrix multiplication (memory: this many × index items similarities).</summary>
    public int QueryBatch { get; init; } = ExactSearch.DefaultQueryBatch;

    /// <summary>
    /// Opens the index at <paramref name="indexPath"/> with <paramref name="modelDir"/>, or with the model
    /// folder the index recorded when null; refuses a model other than the one that built the index.
    /// </summary>
    public static Searcher Open(string indexPath, string? modelDir = null, EngineChoice engine = EngineChoice.Auto, int threads = 0)
    {
        var index = EmbeddingIndex.Load(indexPath);
        try
        {
            var dir = modelDir ?? index.ModelDirectory;
            if (modelDir is null && !Directory.Exists(dir))
                throw new ProteaException($"{indexPath}: the model folder it was built with, {dir}, is gone; give the model folder", "model");
            index.CheckModel(dir, indexPath);
            var opened = InferenceEngines.Open(dir, engine, threads, out var passedOver);
            return new Searcher(index, indexPath, dir, opened, passedOver);
        }
        catch
        {
            index.Dispose();
            throw;
        }
    }

    /// <summary>The <paramref name="top"/> nearest items of each image file (image models) or CSV row (tabular models).</summary>
    public IReadOnlyList<QueryResult> SearchFiles(IReadOnlyList<string> paths, int top, CancellationToken cancellation = default)
    {
        CheckTop(top);
        var predictions = new Predictor(engine).PredictFiles(paths, 1, cancellation);
        var d = Index.Dimension;
        var flat = new float[(long)predictions.Count * d];
        for (var i = 0; i < predictions.Count; i++)
        {
            CheckDimension(predictions[i].Embedding.Count);
            for (var j = 0; j < d; j++) flat[(long)i * d + j] = predictions[i].Embedding[j];
        }
        using var raw = tensor(flat, [predictions.Count, d]);
        return SearchEmbeddings(raw, predictions.Select(p => p.Input).ToList(), top, cancellation);
    }

    /// <summary>The nearest items of raw (not yet normalised) query embeddings [Q, D]; <paramref name="names"/>[i] names query i.</summary>
    public IReadOnlyList<QueryResult> SearchEmbeddings(Tensor embeddings, IReadOnlyList<string> names, int top, CancellationToken cancellation = default)
    {
        CheckTop(top);
        CheckDimension((int)embeddings.shape[1]);
        using var queries = ExactSearch.Normalize(embeddings);
        var results = new QueryResult[names.Count];
        ExactSearch.ForEachBatch(Index.Embeddings, queries, top, QueryBatch, (start, count, sims, rows) =>
        {
            var k = sims.Length / count;
            for (var q = 0; q < count; q++)
            {
                var hits = new SearchHit[k];
                for (var j = 0; j < k; j++)
                {
                    var item = (int)rows[q * k + j];
                    hits[j] = new SearchHit(Index.Ids[item], Index.PathOf(item), Index.LabelOf(item), sims[q * k + j], item);
                }
                results[start + q] = new QueryResult(names[start + q], hits);
            }
        }, cancellation);
        return results;
    }

    /// <summary>
    /// Every item of <paramref name="spec"/>'s test split (all of it when it has none) as a query: Recall@1, 2, 4, 8
    /// and mAP@R against the index. Query labels are matched to the index's classes by name.
    /// </summary>
    public RetrievalEvaluation Evaluate(DataSpec spec, CancellationToken cancellation = default)
    {
        var description = engine.Description;
        var fitted = ModelInputs.ForModel(spec, description);
        var (data, isTest) = fitted.LoadEvaluationSet();
        using var _ = data;
        ModelInputs.CheckCompatible(data, description, fitted);
        var output = InferenceEngines.RunAll(engine, data, cancellation: cancellation);
        CheckDimension(output.EmbeddingDim);
        var byName = Index.ClassNames.Select((n, i) => (n, i)).ToDictionary(x => x.n, x => (long)x.i);
        var labels = data.Labels.Select(l => l >= 0 && byName.TryGetValue(data.ClassNames[(int)l], out var m) ? m : -1).ToArray();
        var counts = Index.ClassCounts();
        var ks = RetrievalMetrics.StandardKs;
        var depth = Math.Max(ks.Max(), counts.DefaultIfEmpty(0).Max());
        var hits = new int[ks.Count];
        double apSum = 0;
        int scored = 0, apScored = 0;
        using var raw = tensor(output.Embeddings, [output.Count, output.EmbeddingDim]);
        using var queries = ExactSearch.Normalize(raw);
        var ranked = new long[depth];
        ExactSearch.ForEachBatch(Index.Embeddings, queries, depth, QueryBatch, (start, count, sims, rows) =>
        {
            var k = rows.Length / count;
            for (var q = 0; q < count; q++)
            {
                var label = labels[start + q];
                if (label < 0) continue;
                var row = ranked.AsSpan(0, k);
                for (var j = 0; j < k; j++) row[j] = Index.Labels[rows[q * k + j]];
                scored++;
                for (var i = 0; i < ks.Count; i++)
                    if (RetrievalMetrics.Hit(row, label, ks[i])) hits[i]++;
                var r = counts[label];
                if (r == 0) continue;
                apScored++;
                apSum += RetrievalMetrics.AveragePrecisionAtR(row, label, r);
            }
        }, cancellation);
        if (scored == 0)
            throw new ProteaException($"{fitted}: none of its items has a class the index holds ({string.Join(", ", Index.ClassNames.Take(5))})", "data");
        var recall = ks.Select((k, i) => (k, v: (double)hits[i] / scored)).ToDictionary(x => x.k, x => x.v);
        return new RetrievalEvaluation(scored, recall, apScored == 0 ? double.NaN : apSum / apScored, fitted.ToString(), isTest ? "test" : "all");
    }

    private void CheckDimension(int dim)
    {
        if (dim != Index.Dimension)
            throw new ProteaException($"{IndexPath}: the index holds {Index.Dimension}-dimensional embeddings but the model in {ModelDirectory} gives {dim}; build the index with this model", "index");
    }

    private static void CheckTop(int top)
    {
        if (top < 1) throw new ProteaException($"top {top}: at least 1 result per query is needed", "top");
    }

    public void Dispose()
    {
        engine.Dispose();
        Index.Dispose();
    }
}

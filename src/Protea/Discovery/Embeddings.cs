using Protea.Deploy;
using static TorchSharp.torch;

namespace Protea.Discovery;

/// <summary>Embeddings of an engine's output as tensors, and the helpers the embedding scorers share.</summary>
internal static class Embeddings
{
    /// <summary>Queries are scored this many at a time, so the distance matrices stay small.</summary>
    public const int QueryBatch = 1024;

    /// <summary>The embeddings [N, D] of <paramref name="output"/> (a new tensor of <paramref name="type"/>).</summary>
    public static Tensor Of(InferenceOutput output, ScalarType type)
    {
        using var t = tensor(output.Embeddings, [output.Count, output.EmbeddingDim]);
        return t.to(type);
    }

    /// <summary>Rows divided by their L2 norm (at least 1e-12, as torch.nn.functional.normalize).</summary>
    public static Tensor Normalize(Tensor x) => x / x.norm(dim: 1, keepdim: true).clamp_min(1e-12);

    /// <summary>Runs <paramref name="score"/> over query batches of the output's embeddings and concatenates the per-row scores.</summary>
    public static double[] ScoreInBatches(InferenceOutput output, ScalarType type, Func<Tensor, Tensor> score)
    {
        using var all = Of(output, type);
        var scores = new double[output.Count];
        for (var start = 0; start < output.Count; start += QueryBatch)
        {
            using var scope = NewDisposeScope();
            var count = Math.Min(QueryBatch, output.Count - start);
            var s = score(all.narrow(0, start, count)).to(float64).contiguous();
            s.data<double>().ToArray().CopyTo(scores, start);
        }
        return scores;
    }

    /// <summary>The classes that have examples, ascending, and the row indices of each.</summary>
    public static IReadOnlyList<(long Class, long[] Rows)> ByClass(IReadOnlyList<long> labels) =>
        Enumerable.Range(0, labels.Count).Where(i => labels[i] >= 0).GroupBy(i => labels[i]).OrderBy(g => g.Key)
            .Select(g => (g.Key, g.Select(i => (long)i).ToArray())).ToList();

    public static void CheckFit(InferenceOutput output, IReadOnlyList<long> labels, string scorer)
    {
        if (labels.Count != output.Count)
            throw new ArgumentException($"{output.Count} examples but {labels.Count} labels", nameof(labels));
        if (!labels.Any(l => l >= 0))
            throw new ProteaException($"the {scorer} scorer needs labelled examples of the model's classes to fit; none were given", "data");
    }
}

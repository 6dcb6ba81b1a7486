using System.Text.Json.Nodes;
using Protea.Deploy;
using static TorchSharp.torch;

namespace Protea.Discovery;

/// <summary>
/// Deep nearest neighbours (Sun et al. 2022): score = the L2 distance from the L2-normalised embedding
/// to its k-th nearest L2-normalised training embedding. The training embeddings are stored (a seeded
/// sample when there are more than <see cref="UnknownScorerOptions.MaxStoredEmbeddings"/>); k is lowered
/// to their number when fewer are stored.
/// </summary>
public sealed class KnnScorer : IUnknownScorer
{
    public const string ScorerName = "knn";
    private const string TrainName = "knn.train_embeddings";

    private readonly Tensor train;

    private KnnScorer(Tensor train, int k)
    {
        this.train = train;
        K = (int)Math.Min(k, train.shape[0]);
        Tensors = new Dictionary<string, Tensor> { [TrainName] = train };
    }

    /// <summary>The neighbour whose distance is the score (1 = the nearest).</summary>
    public int K { get; }

    public string Name => ScorerName;

    /// <summary>Stores the normalised embeddings of <paramref name="train"/> (labels are not needed).</summary>
    public static KnnScorer Fit(InferenceOutput train, int k = 50, int maxStored = 10_000, int seed = 0)
    {
        if (train.Count == 0)
            throw new ProteaException("the knn scorer needs training examples to fit; none were given", "data");
        if (k < 1) throw new ProteaException($"k {k}: must be at least 1", "k");
        using var scope = NewDisposeScope();
        var x = Embeddings.Normalize(Embeddings.Of(train, float32));
        if (train.Count > maxStored)
        {
            var order = Enumerable.Range(0, train.Count).Select(i => (long)i).ToArray();
            new Random(seed).Shuffle(order);
            x = x.index_select(0, tensor(order.Take(maxStored).Order().ToArray()));
        }
        return new KnnScorer(x.contiguous().MoveToOuterDisposeScope(), k);
    }

    internal static KnnScorer Restore(IReadOnlyDictionary<string, Tensor> tensors, JsonObject? settings) =>
        new(Stored.Take(tensors, TrainName, ScorerName).to(float32), settings?["k"]?.GetValue<int>() ?? 50);

    public double[] Score(InferenceOutput output) => Embeddings.ScoreInBatches(output, float32, x =>
    {
        var similarity = Embeddings.Normalize(x).matmul(train.t());
        var kth = similarity.topk(K, dim: 1, largest: true, sorted: true).values.select(1, K - 1).to(float64);
        return (2 - 2 * kth).clamp_min(0).sqrt();
    });

    public IReadOnlyDictionary<string, Tensor> Tensors { get; }

    public JsonObject? Settings => new() { ["k"] = K };

    public void Dispose() => train.Dispose();
}

using System.Text.Json.Nodes;
using Protea.Deploy;
using static TorchSharp.torch;

namespace Protea.Discovery;

/// <summary>
/// Distance to the nearest class prototype: the prototypes are the class means of the L2-normalised
/// training embeddings, normalised again; score = 1 − max over classes of the cosine similarity.
/// </summary>
public sealed class PrototypeScorer : IUnknownScorer
{
    public const string ScorerName = "prototype";
    private const string PrototypesName = "prototype.prototypes";

    private readonly Tensor prototypes;

    private PrototypeScorer(Tensor prototypes)
    {
        this.prototypes = prototypes;
        Tensors = new Dictionary<string, Tensor> { [PrototypesName] = prototypes };
    }

    public string Name => ScorerName;

    /// <summary>Fits on training outputs with their class indices (−1: unlabelled, left out).</summary>
    public static PrototypeScorer Fit(InferenceOutput train, IReadOnlyList<long> labels)
    {
        Embeddings.CheckFit(train, labels, ScorerName);
        using var scope = NewDisposeScope();
        var x = Embeddings.Normalize(Embeddings.Of(train, float32));
        var means = Embeddings.ByClass(labels).Select(g => x.index_select(0, tensor(g.Rows)).mean([0])).ToList();
        return new PrototypeScorer(Embeddings.Normalize(stack(means)).contiguous().MoveToOuterDisposeScope());
    }

    internal static PrototypeScorer Restore(IReadOnlyDictionary<string, Tensor> tensors) =>
        new(Stored.Take(tensors, PrototypesName, ScorerName).to(float32));

    public double[] Score(InferenceOutput output) => Embeddings.ScoreInBatches(output, float32, x =>
        1 - Embeddings.Normalize(x).matmul(prototypes.t()).max(1).values.to(float64));

    public IReadOnlyDictionary<string, Tensor> Tensors { get; }

    public JsonObject? Settings => null;

    public void Dispose() => prototypes.Dispose();
}

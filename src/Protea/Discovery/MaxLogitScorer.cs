using System.Text.Json.Nodes;
using Protea.Deploy;
using static TorchSharp.torch;

namespace Protea.Discovery;

/// <summary>Maximum logit (Hendrycks et al. 2022): score = −max logits.</summary>
public sealed class MaxLogitScorer : IUnknownScorer
{
    public const string ScorerName = "max-logit";

    public string Name => ScorerName;

    public double[] Score(InferenceOutput output) => LogitScores.Map(output, row => -LogitScores.Max(row));

    public IReadOnlyDictionary<string, Tensor> Tensors { get; } = new Dictionary<string, Tensor>();
    public JsonObject? Settings => null;
    public void Dispose() { }
}

using System.Text.Json.Nodes;
using Protea.Deploy;
using static TorchSharp.torch;

namespace Protea.Discovery;

/// <summary>Maximum softmax probability (Hendrycks &amp; Gimpel): score = −max softmax(logits), in [−1, −1/K].</summary>
public sealed class MspScorer : IUnknownScorer
{
    public const string ScorerName = "msp";

    public string Name => ScorerName;

    public double[] Score(InferenceOutput output) =>
        LogitScores.Map(output, row => -Math.Exp(LogitScores.Max(row) - LogitScores.LogSumExp(row, 1)));

    public IReadOnlyDictionary<string, Tensor> Tensors { get; } = new Dictionary<string, Tensor>();
    public JsonObject? Settings => null;
    public void Dispose() { }
}

using System.Text.Json.Nodes;
using Protea.Deploy;
using static TorchSharp.torch;

namespace Protea.Discovery;

/// <summary>Free energy (Liu et al. 2020): score = −T·logsumexp(logits / T); T = 1 by default.</summary>
public sealed class EnergyScorer(double temperature = 1) : IUnknownScorer
{
    public const string ScorerName = "energy";

    public double Temperature { get; } = temperature > 0 && double.IsFinite(temperature)
        ? temperature
        : throw new ProteaException($"temperature {temperature}: must be a positive number", "temperature");

    public string Name => ScorerName;

    public double[] Score(InferenceOutput output) => LogitScores.Map(output, row => -Temperature * LogitScores.LogSumExp(row, Temperature));

    public IReadOnlyDictionary<string, Tensor> Tensors { get; } = new Dictionary<string, Tensor>();
    public JsonObject? Settings => new() { ["temperature"] = Temperature };
    public void Dispose() { }
}

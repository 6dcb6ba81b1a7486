using System.Text.Json.Nodes;
using Protea.Deploy;
using static TorchSharp.torch;

namespace Protea.Discovery;

/// <summary>
/// Scores how unlike the model's known classes an input is, from what an engine gives for it (logits
/// and embedding). Every scorer follows one sign convention: <b>higher = more likely unknown</b>
/// (the softmax and logit scorers negate their confidence). Scorers with statistics fitted on
/// training data (<see cref="Tensors"/>) own them and free them on dispose.
/// </summary>
public interface IUnknownScorer : IDisposable
{
    /// <summary>The scorer's name in <see cref="UnknownScorers.Names"/> and model.json.</summary>
    string Name { get; }

    /// <summary>One score per example of <paramref name="output"/>, higher = more unknown.</summary>
    double[] Score(InferenceOutput output);

    /// <summary>The fitted statistics to save in unknown.safetensors (empty for scorers without any).</summary>
    IReadOnlyDictionary<string, Tensor> Tensors { get; }

    /// <summary>The scorer's settings for model.json (temperature, k, shrinkage), or null when it has none.</summary>
    JsonObject? Settings { get; }
}

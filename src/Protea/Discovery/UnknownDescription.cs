using System.Text.Json.Nodes;
using System.Text.Json.Serialization;

namespace Protea.Discovery;

/// <summary>
/// model.json's optional "unknown" section: the calibrated unknown scorer. An input is unknown when its
/// score (higher = more unknown) is above <see cref="Threshold"/>, chosen so that 95 % of held-out known
/// items score at or below it. Scorers with statistics keep them in DIR/unknown.safetensors, whose SHA-256
/// is recorded here and checked when the model is opened.
/// </summary>
/// <param name="Scorer">One of <see cref="UnknownScorers.Names"/>.</param>
/// <param name="Threshold">Scores above this are unknown.</param>
/// <param name="TruePositiveRate">The share of known items the threshold keeps as known (0.95).</param>
/// <param name="Settings">The scorer's settings (temperature, k, shrinkage), or null.</param>
/// <param name="TensorsSha256">Lower-case hex SHA-256 of unknown.safetensors, or null when the scorer keeps no statistics.</param>
/// <param name="CalibratedOn">The data the threshold was chosen on, as its spec names it, and the split.</param>
public sealed record UnknownDescription(
    string Scorer,
    double Threshold,
    double TruePositiveRate,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] JsonObject? Settings,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] string? TensorsSha256,
    string? CalibratedOn)
{
    /// <summary>The energy temperature, when the scorer is energy.</summary>
    [JsonIgnore]
    public double? Temperature => Settings?["temperature"]?.GetValue<double>();
}

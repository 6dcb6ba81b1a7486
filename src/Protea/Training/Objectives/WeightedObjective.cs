using TorchSharp;
using static TorchSharp.torch;

namespace Protea.Training.Objectives;

/// <summary>An objective's loss times a weight (the "ce:0.5" of an objective list).</summary>
public sealed class WeightedObjective(IObjective inner, double weight) : IObjective
{
    public IObjective Inner { get; } = inner;

    public double Weight { get; } = weight >= 0 && double.IsFinite(weight)
        ? weight
        : throw new ProteaException($"objective weight {weight} must be a non-negative number", "objective");

    public string Name => Inner.Name;

    public ObjectiveNeeds Needs => Inner.Needs;

    public Tensor Loss(TrainingBatch batch, ModelOutputs outputs)
    {
        var loss = Inner.Loss(batch, outputs);
        using var w = Weight.ToScalar();
        return loss.mul(w);
    }
}

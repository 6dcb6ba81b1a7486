using TorchSharp;
using static TorchSharp.torch;

namespace Protea.Training.Objectives;

/// <summary>
/// The triplet loss (<see cref="TripletLoss"/>) on the batch's embeddings, batch-hard ("triplet")
/// or semi-hard ("triplet-semihard"). It needs several items of a class per batch: the trainer
/// draws P x K batches for it unless told otherwise (<see cref="Sampling.PkBatchSampler"/>). Mixed
/// batches (mixup, CutMix) are refused: a mixed item has no single class.
/// </summary>
public sealed class TripletObjective : IObjective
{
    public TripletObjective(TripletMining mining, double margin = TripletLoss.DefaultMargin, double weight = 1)
    {
        TripletLoss.RequireMargin(margin);
        if (!(weight >= 0) || !double.IsFinite(weight))
            throw new ProteaException($"objective weight {weight} must be a non-negative number", "objective");
        (Mining, Margin, Weight) = (mining, margin, weight);
    }

    public TripletMining Mining { get; }

    public double Margin { get; }

    public double Weight { get; }

    public string Name => Mining == TripletMining.BatchHard ? "triplet" : "triplet-semihard";

    public ObjectiveNeeds Needs => ObjectiveNeeds.Embedding;

    public Tensor Loss(TrainingBatch batch, ModelOutputs outputs)
    {
        if (batch.Mixing is not null)
            throw new ProteaException($"the {Name} objective cannot train on mixed batches (mixup, CutMix); turn mixing off", "objective");
        var embedding = outputs.Embedding ?? throw new InvalidOperationException("the trainer did not compute the embedding");
        var loss = TripletLoss.Compute(embedding, batch.Labels, Margin, Mining);
        if (Weight == 1) return loss;
        using var w = Weight.ToScalar();
        return loss.mul(w);
    }
}

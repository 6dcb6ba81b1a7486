using Protea.Models;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Protea.Training.Objectives;

/// <summary>
/// Center loss (Wen et al. 2016, eq. 2): L_C = 1/2 * sum_i ||x_i - c_{y_i}||^2, here averaged over
/// the batch, pulling each embedding towards a learnable centre of its class. The centres are the
/// objective's own module (<see cref="CenterTable"/>, one row per class, attached to the model,
/// trained with the run's optimiser, dropped after training). It pulls classes together but does
/// not push them apart: use it beside cross-entropy with a small weight (center:0.01+ce).
/// </summary>
public sealed class CenterObjective : IObjectiveWithModule
{
    private CenterTable? centers;

    public CenterObjective(double weight = 1)
    {
        if (!(weight >= 0) || !double.IsFinite(weight))
            throw new ProteaException($"objective weight {weight} must be a non-negative number", "objective");
        Weight = weight;
    }

    public double Weight { get; }

    public string Name => "center";

    public ObjectiveNeeds Needs => ObjectiveNeeds.Embedding;

    /// <summary>The class centres of the run, once attached.</summary>
    public CenterTable? Centers => centers;

    public nn.Module Attach(Classifier model)
    {
        centers?.Dispose();
        centers = new CenterTable(model.Head.NumClasses, model.Backbone.EmbeddingDim);
        return centers;
    }

    public Tensor Loss(TrainingBatch batch, ModelOutputs outputs)
    {
        if (batch.Mixing is not null)
            throw new ProteaException("the center objective cannot train on mixed batches (mixup, CutMix); turn mixing off", "objective");
        var table = centers ?? throw new InvalidOperationException("the center objective was not attached to a model");
        var embedding = outputs.Embedding ?? throw new InvalidOperationException("the trainer did not compute the embedding");
        var loss = Compute(embedding, table.centers, batch.Labels);
        if (Weight == 1) return loss;
        using var w = Weight.ToScalar();
        return loss.mul(w);
    }

    /// <summary>1/(2N) * sum_i ||x_i - c_{y_i}||^2 for embeddings [N, D], centres [C, D], labels [N].</summary>
    public static Tensor Compute(Tensor embeddings, Tensor centers, Tensor labels)
    {
        using var scope = NewDisposeScope();
        using var half = 0.5.ToScalar();
        var difference = embeddings.sub(centers.index_select(0, labels));
        return difference.pow(2).sum(1).mean().mul(half).MoveToOuterDisposeScope();
    }
}

/// <summary>The learnable class centres of <see cref="CenterObjective"/>: one parameter "centers" [C, D], initialised N(0, 1).</summary>
public sealed class CenterTable : nn.Module
{
#pragma warning disable IDE1006 // the field name is the parameter's name
    public readonly Parameter centers;
#pragma warning restore IDE1006

    public CenterTable(long classes, long embeddingDim) : base("center")
    {
        centers = nn.Parameter(randn(classes, embeddingDim));
        RegisterComponents();
    }
}

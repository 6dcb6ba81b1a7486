using Protea.Models;
using TorchSharp;
using static TorchSharp.torch;

namespace Protea.Training.Objectives;

/// <summary>
/// What <see cref="SupConObjective"/> and <see cref="NtXentObjective"/> share: both views'
/// embeddings go through the objective's own <see cref="ProjectionHead"/> (attached to the model,
/// trained with it, dropped after training) into <see cref="ContrastiveLoss"/>. The views must not
/// be mixed (mixup/CutMix): a mixed example has no single positive.
/// </summary>
public abstract class ContrastiveObjective : IObjectiveWithModule
{
    private ProjectionHead? projection;

    protected ContrastiveObjective(double temperature, double weight, long projectionDim)
    {
        if (!(temperature > 0) || !double.IsFinite(temperature))
            throw new ProteaException($"temperature {temperature} must be a positive number", "temperature");
        if (!(weight >= 0) || !double.IsFinite(weight))
            throw new ProteaException($"objective weight {weight} must be a non-negative number", "objective");
        (Temperature, Weight, ProjectionDim) = (temperature, weight, projectionDim);
    }

    public abstract string Name { get; }

    public double Temperature { get; }

    public double Weight { get; }

    public long ProjectionDim { get; }

    public virtual ObjectiveNeeds Needs => ObjectiveNeeds.Embedding | ObjectiveNeeds.SecondView;

    /// <summary>The projection head of the run, once attached.</summary>
    public ProjectionHead? Projection => projection;

    public nn.Module Attach(Classifier model)
    {
        projection?.Dispose();
        projection = new ProjectionHead(model.Backbone.EmbeddingDim, ProjectionDim);
        return projection;
    }

    /// <summary>Null for NT-Xent (each example its own class), the labels for SupCon.</summary>
    protected abstract Tensor? Classes(TrainingBatch batch);

    public Tensor Loss(TrainingBatch batch, ModelOutputs outputs)
    {
        if (batch.Mixing is not null)
            throw new ProteaException($"the {Name} objective cannot train on mixed batches (mixup, CutMix); turn mixing off", "objective");
        var head = projection ?? throw new InvalidOperationException($"the {Name} objective was not attached to a model");
        var first = outputs.Embedding ?? throw new InvalidOperationException("the trainer did not compute the embedding");
        var second = outputs.SecondView?.Embedding ?? throw new InvalidOperationException("the trainer did not compute the second view");
        var classes = Classes(batch);
        // SupCon among the batch's labelled items only (unlabelled ones are kept for SimCLR).
        if (classes is not null && batch.LabelledRows() is { } rows)
        {
            if (rows.shape[0] < 2) return TrainingBatch.Zero(head.forward(first));
            (first, second, classes) = (first.index_select(0, rows), second.index_select(0, rows), classes.index_select(0, rows));
        }
        var loss = ContrastiveLoss.Compute(head.forward(first), head.forward(second), classes, Temperature);
        if (Weight == 1) return loss;
        using var w = Weight.ToScalar();
        return loss.mul(w);
    }
}

/// <summary>Supervised contrastive loss (Khosla et al. 2020) on two views: same-class examples are positives.</summary>
public sealed class SupConObjective(double temperature = SupConObjective.DefaultTemperature, double weight = 1, long projectionDim = ProjectionHead.DefaultDim)
    : ContrastiveObjective(temperature, weight, projectionDim)
{
    public const double DefaultTemperature = 0.1;

    public override string Name => "supcon";

    public override ObjectiveNeeds Needs => base.Needs | ObjectiveNeeds.LeavesOutUnlabelled;

    protected override Tensor? Classes(TrainingBatch batch) => batch.Labels;
}

/// <summary>SimCLR's NT-Xent (Chen et al. 2020) on two views: only an example's other view is its positive; labels are not used.</summary>
public sealed class NtXentObjective(double temperature = NtXentObjective.DefaultTemperature, double weight = 1, long projectionDim = ProjectionHead.DefaultDim)
    : ContrastiveObjective(temperature, weight, projectionDim)
{
    public const double DefaultTemperature = 0.5;

    public override string Name => "simclr";

    /// <summary>Every item, labelled or not, is its own class against the batch: unlabelled items are used.</summary>
    public override ObjectiveNeeds Needs => base.Needs | ObjectiveNeeds.UnlabelledItems;

    protected override Tensor? Classes(TrainingBatch batch) => null;
}

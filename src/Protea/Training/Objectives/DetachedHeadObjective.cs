using Protea.Models;
using static TorchSharp.torch;

namespace Protea.Training.Objectives;

/// <summary>
/// Cross-entropy of the head on the detached backbone output: trains the classifier head on top of
/// a representation another objective shapes (supcon, simclr) without sending gradient into the
/// backbone (a linear probe trained alongside). The trainer's objective list adds it when no
/// objective trains the head.
/// </summary>
public sealed class DetachedHeadObjective : IObjective
{
    public string Name => "head";

    public ObjectiveNeeds Needs => ObjectiveNeeds.Embedding | ObjectiveNeeds.LeavesOutUnlabelled;

    public Tensor Loss(TrainingBatch batch, ModelOutputs outputs)
    {
        var model = outputs.Model;
        Tensor input;
        if (model.Head.Consumes == Consumes.FeatureMap)
            using (no_grad()) input = model.Backbone.FeatureMap(batch.Inputs);
        else
            input = (outputs.Embedding ?? throw new InvalidOperationException("the trainer did not compute the embedding")).detach();
        var logits = model.Head.forward(input);
        if (batch.LabelledRows() is { } rows)
            return rows.shape[0] == 0 ? TrainingBatch.Zero(logits)
                : nn.functional.cross_entropy(logits.index_select(0, rows), batch.Labels.index_select(0, rows));
        return nn.functional.cross_entropy(logits, batch.Labels);
    }
}

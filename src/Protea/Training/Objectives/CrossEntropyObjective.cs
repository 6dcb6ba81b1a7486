using TorchSharp;
using static TorchSharp.torch;

namespace Protea.Training.Objectives;

/// <summary>
/// Cross-entropy with label smoothing (Szegedy et al. 2016). On a mixed batch (mixup, CutMix) the
/// target is mixed too: lambda * CE(logits, y) + (1 - lambda) * CE(logits, y[partner]).
/// </summary>
public sealed class CrossEntropyObjective(double labelSmoothing = 0) : IObjective
{
    public string Name => "cross_entropy";

    public ObjectiveNeeds Needs => ObjectiveNeeds.Logits | ObjectiveNeeds.LeavesOutUnlabelled;

    public double LabelSmoothing { get; } = labelSmoothing is >= 0 and <= 1
        ? labelSmoothing
        : throw new ProteaException($"label smoothing {labelSmoothing} must be between 0 and 1", "label_smoothing");

    public Tensor Loss(TrainingBatch batch, ModelOutputs outputs)
    {
        if (batch.Mixing is null && batch.LabelledRows() is { } rows)
            return rows.shape[0] == 0 ? TrainingBatch.Zero(outputs.Logits)
                : nn.functional.cross_entropy(outputs.Logits.index_select(0, rows), batch.Labels.index_select(0, rows), label_smoothing: LabelSmoothing);
        var loss = nn.functional.cross_entropy(outputs.Logits, batch.Labels, label_smoothing: LabelSmoothing);
        if (batch.Mixing is not { } mix) return loss;
        using var keep = mix.Lambda.ToScalar();
        using var take = (1 - mix.Lambda).ToScalar();
        return loss.mul(keep).add_(nn.functional.cross_entropy(outputs.Logits, batch.Labels.index_select(0, mix.Partner), label_smoothing: LabelSmoothing).mul(take));
    }
}

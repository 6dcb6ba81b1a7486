using static TorchSharp.torch;

namespace Protea.Training.Objectives;

/// <summary>
/// One training batch as the model sees it: normalised (and possibly mixed) inputs, the labels of
/// the examples before mixing, how they were mixed, and a second augmented view when an objective
/// asked for one. Every tensor lives in the batch's DisposeScope.
/// </summary>
public sealed record TrainingBatch(Tensor Inputs, Tensor Labels, Mixing? Mixing = null, Tensor? SecondView = null)
{
    /// <summary>
    /// The rows of labelled items (label ≥ 0) when the batch holds unlabelled ones (label −1, kept for an
    /// objective with <see cref="ObjectiveNeeds.UnlabelledItems"/>), else null: every row is labelled.
    /// </summary>
    public Tensor? LabelledRows() => Labels.lt(0).any().item<bool>() ? Labels.ge(0).nonzero().squeeze(1) : null;

    /// <summary>A zero loss that keeps <paramref name="source"/>'s graph (a term with no labelled item in the batch).</summary>
    internal static Tensor Zero(Tensor source) => source.sum().mul(0);
}

/// <summary>
/// Mixup or CutMix: example i of the inputs is lambda parts example i and 1 - lambda parts example
/// Partner[i], so its target is lambda * y + (1 - lambda) * y[Partner].
/// </summary>
public sealed record Mixing(Tensor Partner, double Lambda);

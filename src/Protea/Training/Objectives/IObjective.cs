using static TorchSharp.torch;

namespace Protea.Training.Objectives;

/// <summary>
/// A term of the training loss, computed from a batch and the model's outputs on it. The trainer
/// sums the terms of all its objectives (each objective carries its own weight) and backpropagates
/// the sum once per batch. An objective declares what it needs beyond the logits, so the loop
/// computes the embedding, the feature map or a second augmented view only when one asks for it.
/// </summary>
/// <remarks>
/// Cross-entropy with label smoothing and mixing is <see cref="CrossEntropyObjective"/>. A
/// contrastive objective asks for <see cref="ObjectiveNeeds.Embedding"/> and
/// <see cref="ObjectiveNeeds.SecondView"/>; ProtoPNet's cluster and separation costs ask for the
/// feature map; distillation holds its teacher and runs it on <see cref="TrainingBatch.Inputs"/>.
/// The returned tensor is a scalar in the batch's DisposeScope.
/// </remarks>
public interface IObjective
{
    /// <summary>Its name in progress messages and reports ("cross_entropy").</summary>
    string Name { get; }

    ObjectiveNeeds Needs { get; }

    Tensor Loss(TrainingBatch batch, ModelOutputs outputs);
}

/// <summary>What an objective needs the loop to compute besides the logits.</summary>
[Flags]
public enum ObjectiveNeeds
{
    Logits = 0,

    /// <summary>The pooled embedding [N, D] the head sees.</summary>
    Embedding = 1,

    /// <summary>The backbone's feature map before pooling [N, C, h, w].</summary>
    FeatureMap = 2,

    /// <summary>A second, independently augmented view of the same examples (not mixed).</summary>
    SecondView = 4,

    /// <summary>
    /// Learns from unlabelled items (label −1) too (SimCLR): the trainer then keeps the training data's
    /// unlabelled items, provided every other objective <see cref="LeavesOutUnlabelled"/> or uses them too.
    /// </summary>
    UnlabelledItems = 8,

    /// <summary>Accepts unlabelled items (label −1) in a batch and leaves them out of its term (cross-entropy, SupCon).</summary>
    LeavesOutUnlabelled = 16,
}

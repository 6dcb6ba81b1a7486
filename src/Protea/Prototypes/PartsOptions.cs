namespace Protea.Prototypes;

/// <summary>
/// The part-prototype head's settings (ProtoPNet, Chen et al. 2019), with the paper's defaults: ten
/// 1x1xD prototypes per class, the cost coefficients of its loss, and how the epochs are staged.
/// </summary>
public sealed record PartsOptions
{
    public int PrototypesPerClass { get; init; } = 10;

    /// <summary>
    /// D: the channels of the add-on's output, and so of every prototype. 32, not the paper's 128: squared
    /// distances grow with D, and at large distances the similarity log((d + 1) / (d + 1e-4)) is flat, so
    /// cross-entropy barely reaches a backbone trained from scratch (Fashion-MNIST, reference cnn, 10,000
    /// images, 3 epochs: 81.7 % before push with 32 against 79.8 % with 128).
    /// </summary>
    public int PrototypeDim { get; init; } = 32;

    /// <summary>
    /// Cluster cost coefficient: 0.2, not the paper's 0.8. The paper's value suits a pretrained backbone; trained
    /// from scratch, a strong pull toward one own-class prototype keeps the features from separating the
    /// classes first. Fashion-MNIST, reference cnn, 10,000 images, 4 epochs, quick recipe, one thread, final
    /// test accuracy: 0.8: 85.78 %, 0.4: 87.29 %, 0.2: 87.96 / 87.99 / 87.48 % (seeds 0-2), 0.1: 88.01 %;
    /// the linear head: 86.86 / 87.35 / 87.32 %.
    /// </summary>
    public double ClusterCost { get; init; } = 0.2;

    /// <summary>Separation cost coefficient (paper: -0.08: the cost is a distance that should grow).</summary>
    public double SeparationCost { get; init; } = -0.08;

    /// <summary>Orthogonality between a class's prototypes (0 = off).</summary>
    public double OrthogonalityCost { get; init; }

    /// <summary>L1 on the last layer's wrong-class connections (paper: 1e-4).</summary>
    public double L1Last { get; init; } = 1e-4;

    /// <summary>
    /// Warm-up epochs: the backbone is frozen, the add-on and the prototypes learn. Null: for a pretrained
    /// backbone (as in the paper) a quarter of the epochs, at least 1 when there are 2 or more; for a
    /// backbone trained from scratch none, since freezing random features only wastes epochs.
    /// </summary>
    public int? WarmupEpochs { get; init; }

    /// <summary>How many times the prototypes are pushed onto training patches, evenly spaced, the last after the final epoch.</summary>
    public int PushCycles { get; init; } = 1;

    /// <summary>
    /// The prototype vectors' learning rate as a multiple of the run's; they learn without weight decay, as
    /// in the paper. Measured on Fashion-MNIST with the reference cnn (10,000 images, 3 epochs, OneCycle
    /// SGD at 0.1, test accuracy before push): D = 128: 75.2 % at 10 against 79.8 % at 1; D = 32: 82.2 % at
    /// 0.1 against 81.7 % at 1: slowly moving prototypes let the features settle around them.
    /// </summary>
    public double PrototypeLearningRateScale { get; init; } = 0.1;

    /// <summary>
    /// The last layer's learning rate through the epochs as a multiple of the run's; 0 (the default) keeps
    /// it at its +1 / -0.5 start until the last-layer stage, as the paper's warm-up and joint stages do.
    /// Measured on Fashion-MNIST with the reference cnn (10,000 images, 4 epochs, quick recipe, convex
    /// last-layer fit): 85.90 % at 0 against 85.34 % at 1; with a fixed layer the features keep to
    /// the prototypes' classes, so push costs less (the fit starts at loss 0.98 instead of 3.49).
    /// </summary>
    public double LastLayerLearningRateScale { get; init; }

    /// <summary>
    /// The last-layer stage after each push is a convex problem on the frozen similarities, solved by
    /// full-batch proximal gradient steps until converged (<see cref="LastLayerTuning.Fit"/>); this caps
    /// the steps. Fashion-MNIST, reference cnn, 10,000 images: 2,000 steps (13 s) leave the loss 0.002
    /// above 10,000 steps' and the test accuracy within 0.04 points; the old 20 mini-batch epochs ended
    /// 2.3 points lower.
    /// </summary>
    public int LastLayerSteps { get; init; } = 2000;

    /// <summary>When set, the last-layer stage is instead that many epochs of mini-batch Adam (the earlier stage, <see cref="LastLayerTuning.Tune"/>).</summary>
    public int? LastLayerEpochs { get; init; }

    /// <summary>Hygiene: a prototype is pruned when fewer than half of its k nearest training images are of its class (0: no pruning; merging still runs).</summary>
    public int PruneK { get; init; } = 6;

    public int Warmup(int epochs, bool pretrained) => WarmupEpochs ?? (pretrained && epochs >= 2 ? Math.Max(1, epochs / 4) : 0);

    /// <summary>Refuses values that cannot train, naming the setting.</summary>
    public void Check(int epochs)
    {
        if (PrototypesPerClass < 1) throw new ProteaException($"{PrototypesPerClass} prototypes per class: at least 1 is needed", "prototypes_per_class");
        if (PrototypeDim < 1) throw new ProteaException($"prototype dimension {PrototypeDim} must be at least 1", "prototype_dim");
        foreach (var (value, field) in new[] { (ClusterCost, "cluster_cost"), (SeparationCost, "separation_cost"), (OrthogonalityCost, "orthogonality_cost"), (L1Last, "l1_last") })
            if (!double.IsFinite(value)) throw new ProteaException($"{field.Replace('_', ' ')} {value} must be a finite number", field);
        if (OrthogonalityCost < 0) throw new ProteaException($"orthogonality cost {OrthogonalityCost} must not be negative", "orthogonality_cost");
        if (L1Last < 0) throw new ProteaException($"last-layer L1 {L1Last} must not be negative", "l1_last");
        if (WarmupEpochs is { } w && (w < 0 || w > epochs)) throw new ProteaException($"{w} warm-up epochs: must be between 0 and the {epochs} epochs of the run", "warmup_epochs");
        if (PushCycles < 1 || PushCycles > epochs) throw new ProteaException($"{PushCycles} push cycles: must be between 1 and the {epochs} epochs of the run", "push_cycles");
        if (!(PrototypeLearningRateScale >= 0 && double.IsFinite(PrototypeLearningRateScale)))
            throw new ProteaException($"prototype learning-rate scale {PrototypeLearningRateScale} must be a non-negative number", "prototype_learning_rate_scale");
        if (!(LastLayerLearningRateScale >= 0 && double.IsFinite(LastLayerLearningRateScale)))
            throw new ProteaException($"last-layer learning-rate scale {LastLayerLearningRateScale} must be a non-negative number", "last_layer_learning_rate_scale");
        if (PruneK < 0) throw new ProteaException($"pruning by the {PruneK} nearest training images: must be 0 (off) or more", "prune_k");
        if (LastLayerSteps < 0) throw new ProteaException($"{LastLayerSteps} last-layer steps must not be negative", "last_layer_steps");
        if (LastLayerEpochs < 0) throw new ProteaException($"{LastLayerEpochs} last-layer epochs must not be negative", "last_layer_epochs");
    }
}

namespace Protea.Mil;

/// <summary>How a bag model is built and trained (<see cref="MilTrainer"/>); printed into mil.json so a run can be repeated.</summary>
public sealed record MilOptions
{
    /// <summary>The patch encoder: any registered image backbone.</summary>
    public string Architecture { get; init; } = "cnn";
    public string Pooling { get; init; } = GatedAttentionPooling.Spec.Name;
    public int Patch { get; init; } = 28;
    public int? Stride { get; init; }
    /// <summary>"dark:T", "bright:T" or null (keep every patch); see <see cref="BackgroundFilter"/>.</summary>
    public string? Background { get; init; }
    public int Channels { get; init; } = 1;
    public int Epochs { get; init; } = 10;
    /// <summary>Bags per optimiser step, fewer when their patches would pass <see cref="PatchBudget"/>.</summary>
    public int BagsPerBatch { get; init; } = 8;
    /// <summary>At most this many patches are stacked at once (a bag larger than it is a batch of its own in training and is encoded in chunks at inference).</summary>
    public int PatchBudget { get; init; } = 512;
    public double LearningRate { get; init; } = 5e-4;
    public double WeightDecay { get; init; } = 1e-4;
    /// <summary>
    /// Weight of the instance branch's loss on pseudo-labels from the attention (0: off): each bag's
    /// most attended tenth of its patches take the bag's class, and every patch of a bag of the first
    /// class takes the first class (for positive/negative folders, negative bags hold only negatives).
    /// </summary>
    public double InstanceWeight { get; init; }
    /// <summary>
    /// Masked hard-instance mining (0: off): the share of each bag's instances, most attended by an EMA
    /// teacher first, masked in a second view the student also trains on (<see cref="MaskedInstanceMining"/>).
    /// </summary>
    public double MaskRatio { get; init; }
    /// <summary>The EMA teacher's momentum per step.</summary>
    public double TeacherMomentum { get; init; } = 0.99;
    public int Seed { get; init; }
    /// <summary>Use at most this many training bags (0: all).</summary>
    public int Limit { get; init; }

    internal void Check()
    {
        if (!MilPoolings.All.TryGet(Pooling, out _))
            throw new ProteaException($"MIL pooling '{Pooling}' is not known; known: {string.Join(", ", MilPoolings.All.Names)}", "pooling");
        if (Epochs < 1) throw new ProteaException($"epochs {Epochs} must be at least 1", "epochs");
        if (BagsPerBatch < 1) throw new ProteaException($"bags per batch {BagsPerBatch} must be at least 1", "batch_size");
        if (PatchBudget < 1) throw new ProteaException($"patch budget {PatchBudget} must be at least 1", "patch_budget");
        if (LearningRate is <= 0 or > 10) throw new ProteaException($"learning rate {LearningRate} must be in (0, 10]", "learning_rate");
        if (InstanceWeight < 0) throw new ProteaException($"instance loss weight {InstanceWeight} must be at least 0", "instance_weight");
        if (MaskRatio is < 0 or >= 1) throw new ProteaException($"masking ratio {MaskRatio} must be at least 0 and below 1", "mask_ratio");
        if (TeacherMomentum is < 0 or >= 1) throw new ProteaException($"teacher momentum {TeacherMomentum} must be in [0, 1)", "teacher_momentum");
        if (Channels is not (1 or 3)) throw new ProteaException($"channels {Channels} must be 1 or 3", "channels");
        PatchGrid.Create(Patch, Stride);
        BackgroundFilter.Parse(Background);
    }
}

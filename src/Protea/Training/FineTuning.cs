namespace Protea.Training;

/// <summary>
/// Fine-tuning from pretrained weights: the pretrained backbone learns at a fraction of the new head's
/// learning rate (default a tenth), so the first steps of a randomly initialised head do not wreck
/// the features it was given. A <see cref="ParameterGroup"/> for "backbone.*", after the caller's own
/// groups (the first matching group wins, so an explicit group for backbone parameters prevails).
/// </summary>
public static class FineTuning
{
    public const double DefaultBackboneScale = 0.1;

    /// <summary>The backbone's learning rate relative to the head's, or null when the run does not start from pretrained weights.</summary>
    public static double? BackboneScale(TrainOptions o) =>
        o.Init is null ? null : o.BackboneLearningRateScale ?? DefaultBackboneScale;

    /// <summary>The caller's groups, plus the backbone's when fine-tuning.</summary>
    public static IReadOnlyList<ParameterGroup> Groups(TrainOptions o, IReadOnlyList<ParameterGroup> groups) =>
        BackboneScale(o) is { } scale ? [.. groups, new ParameterGroup("backbone.*") { LearningRateScale = scale }] : groups;

    /// <summary>Refuses a scale that is negative or not finite (above 1 is allowed: unusual, not wrong).</summary>
    public static void Check(TrainOptions o)
    {
        if (o.BackboneLearningRateScale is { } s && (s < 0 || !double.IsFinite(s)))
            throw new ProteaException($"the backbone's learning-rate scale {s} must be a non-negative number", "backbone_learning_rate_scale");
    }
}

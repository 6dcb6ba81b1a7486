namespace Protea.Prototypes;

/// <summary>
/// What training did to the prototypes: how many were pushed and how many of those landed on distinct
/// patches, how many hygiene merged and pruned, how many remain per class (by class index), and the
/// seconds the push passes and the last-layer stages took (reported apart from the epochs).
/// </summary>
public sealed record PartsTrainingSummary(int Pushed, int DistinctAfterPush, int Merged, int Pruned, int[] PerClass,
    double PushSeconds, double LastLayerSeconds)
{
    /// <summary>Full-batch steps of the final convex last-layer fit, or null when the stage ran as mini-batch epochs (or for a model saved before).</summary>
    public int? LastLayerSteps { get; init; }

    /// <summary>Whether that fit met its tolerance before the step cap.</summary>
    public bool? LastLayerConverged { get; init; }

    public double DistinctFraction => Pushed == 0 ? 0 : (double)DistinctAfterPush / Pushed;

    /// <summary>One line for reports: "T-shirt 9, Trouser 10, ... (60 pushed, 58 distinct; merged 2, pruned 0)".</summary>
    public string PerClassLine(IReadOnlyList<string> classNames) =>
        string.Join(", ", PerClass.Select((n, c) => $"{(c < classNames.Count ? classNames[c] : c.ToString(System.Globalization.CultureInfo.InvariantCulture))} {n}"))
        + $" ({Pushed} pushed, {DistinctAfterPush} distinct; merged {Merged}, pruned {Pruned})";
}

namespace Protea.Training;

/// <summary>
/// Learning rate (and, for OneCycle with SGD, momentum) as a pure function of the global step, so a
/// resumed run sets exactly the values an uninterrupted one would. Matches PyTorch's OneCycleLR
/// (pct_start 0.3 unless a warm-up fraction is given, cosine annealing, div_factor 25, final_div_factor 1e4, momentum cycled
/// 0.95 -> 0.85 -> 0.95) and CosineAnnealingLR (T_max = total steps, eta_min 0).
/// </summary>
public sealed class LearningRateSchedule(string kind, double maxLearningRate, long totalSteps, double baseMomentum = 0.85, double maxMomentum = 0.95,
    double warmup = LearningRateSchedule.DefaultWarmup)
{
    private const double DivFactor = 25, FinalDivFactor = 1e4;

    /// <summary>OneCycle's pct_start: the fraction of the steps over which the learning rate rises.</summary>
    public const double DefaultWarmup = 0.3;

    private readonly double pctStart = warmup is > 0 and < 1
        ? warmup
        : throw new ProteaException($"the warm-up fraction must lie between 0 and 1, not {warmup}", "warmup");

    public static readonly IReadOnlyList<string> Kinds = ["onecycle", "cosine", "constant"];

    public string Kind { get; } = Kinds.Contains(kind)
        ? kind
        : throw new ProteaException($"schedule '{kind}' is not known; known: {string.Join(", ", Kinds)}", "schedule");

    /// <summary>Whether the schedule also drives momentum (OneCycle's cycle_momentum).</summary>
    public bool CyclesMomentum => Kind == "onecycle";

    public double LearningRate(long step) => Kind switch
    {
        "onecycle" => OneCycle(step, maxLearningRate / DivFactor, maxLearningRate, maxLearningRate / DivFactor / FinalDivFactor),
        "cosine" => maxLearningRate * (1 + Math.Cos(Math.PI * Math.Min(step, totalSteps) / totalSteps)) / 2,
        _ => maxLearningRate,
    };

    public double Momentum(long step) => OneCycle(step, maxMomentum, baseMomentum, maxMomentum);

    private double OneCycle(long step, double start, double peak, double end)
    {
        var warmEnd = pctStart * totalSteps - 1;
        var last = totalSteps - 1.0;
        return step <= warmEnd
            ? Anneal(start, peak, step / warmEnd)
            : Anneal(peak, end, (step - warmEnd) / (last - warmEnd));
    }

    private static double Anneal(double from, double to, double pct) => to + (from - to) / 2 * (Math.Cos(Math.PI * pct) + 1);
}

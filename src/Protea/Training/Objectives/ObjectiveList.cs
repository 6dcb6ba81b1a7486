using System.Globalization;

namespace Protea.Training.Objectives;

/// <summary>
/// The training loss written as a list of terms: "ce", "supcon", "simclr", or a sum such as
/// "supcon+ce" or "supcon:1+ce:0.5" (name[:weight], weights default to 1). The temperature, when
/// given, applies to the contrastive terms (default 0.1 for supcon, 0.5 for simclr). When no term
/// trains the classifier head (supcon or simclr alone), <see cref="DetachedHeadObjective"/> is added:
/// the head learns by cross-entropy on the detached embeddings, the backbone only from the
/// contrastive terms (with the ncm head, class means are fitted after training as usual). "triplet"
/// (batch-hard) and "triplet-semihard" take the margin (default 0.2); "center" keeps learnable
/// class centres (use it beside ce with a small weight, center:0.01+ce).
/// </summary>
public static class ObjectiveList
{
    public const string Default = "ce";

    public static readonly IReadOnlyList<string> Known = ["ce", "supcon", "simclr", "triplet", "triplet-semihard", "center"];

    public static IReadOnlyList<IObjective> Parse(string spec, double? temperature = null, double labelSmoothing = 0, double? margin = null)
    {
        if (margin is { } mm) TripletLoss.RequireMargin(mm);
        if (temperature is { } t && (!(t > 0) || !double.IsFinite(t)))
            throw new ProteaException($"temperature {t} must be a positive number", "temperature");
        var terms = (spec ?? "").Split('+', StringSplitOptions.TrimEntries);
        var objectives = new List<IObjective>();
        var names = new HashSet<string>();
        foreach (var term in terms)
        {
            var parts = term.Split(':', StringSplitOptions.TrimEntries);
            var name = parts[0].ToLowerInvariant();
            var weight = 1.0;
            if (parts.Length > 2 || (parts.Length == 2 && !double.TryParse(parts[1], NumberStyles.Float, CultureInfo.InvariantCulture, out weight)))
                throw new ProteaException($"objective term '{term}' is not name or name:weight (e.g. supcon:1+ce:0.5)", "objective");
            if (!(weight >= 0) || !double.IsFinite(weight))
                throw new ProteaException($"objective term '{term}': weight {parts[1]} must be a non-negative number", "objective");
            if (!names.Add(name))
                throw new ProteaException($"objective '{spec}' names '{name}' twice", "objective");
            objectives.Add(name switch
            {
                "ce" => weight == 1 ? new CrossEntropyObjective(labelSmoothing) : new WeightedObjective(new CrossEntropyObjective(labelSmoothing), weight),
                "supcon" => new SupConObjective(temperature ?? SupConObjective.DefaultTemperature, weight),
                "simclr" => new NtXentObjective(temperature ?? NtXentObjective.DefaultTemperature, weight),
                "triplet" => new TripletObjective(TripletMining.BatchHard, margin ?? TripletLoss.DefaultMargin, weight),
                "triplet-semihard" => new TripletObjective(TripletMining.SemiHard, margin ?? TripletLoss.DefaultMargin, weight),
                "center" => new CenterObjective(weight),
                _ => throw new ProteaException($"objective '{name}' is not known; known: {string.Join(", ", Known)} (combined as supcon+ce or supcon:1+ce:0.5)", "objective"),
            });
        }
        if (!names.Contains("ce"))
            objectives.Add(new DetachedHeadObjective());
        return objectives;
    }
}

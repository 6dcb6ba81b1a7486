using Protea.Models;
using Protea.Training.Optimizers;
using TorchSharp.Modules;

namespace Protea.Training;

/// <summary>
/// Settings for the parameters whose names match <see cref="Pattern"/> (PyTorch names such as
/// "backbone.conv1.weight"; '*' matches any run of characters, so "backbone.*" is the whole
/// backbone). The first matching group wins; parameters no group matches train with the run's
/// learning rate and weight decay.
/// </summary>
/// <remarks>
/// A frozen parameter gets no gradient, no update and no optimizer state; a BatchNorm layer whose
/// parameters are all frozen also keeps its running statistics (it runs in eval mode), so a frozen
/// part of the network stays bit-identical.
/// </remarks>
public sealed record ParameterGroup(string Pattern)
{
    /// <summary>Multiplies the scheduled learning rate (PyTorch's per-group lr relative to the run's).</summary>
    public double LearningRateScale { get; init; } = 1;

    /// <summary>The group's own peak learning rate, scheduled like the run's; overrides <see cref="LearningRateScale"/>.</summary>
    public double? LearningRate { get; init; }

    /// <summary>The group's weight decay; null = the run's.</summary>
    public double? WeightDecay { get; init; }

    public bool Frozen { get; init; }

    public static ParameterGroup Freeze(string pattern) => new(pattern) { Frozen = true };

    public bool Matches(string name) => Glob(Pattern, name);

    private static bool Glob(ReadOnlySpan<char> pattern, ReadOnlySpan<char> name)
    {
        var star = pattern.IndexOf('*');
        if (star < 0) return pattern.SequenceEqual(name);
        if (!name.StartsWith(pattern[..star])) return false;
        var rest = pattern[(star + 1)..];
        for (var i = star; i <= name.Length; i++)
            if (Glob(rest, name[i..])) return true;
        return false;
    }

    /// <summary>
    /// Splits a model's parameters into optimizer groups (in the model's parameter order within each
    /// group) and sets requires_grad: false for frozen parameters, true for all others.
    /// </summary>
    public static IReadOnlyList<OptimizerGroup> Assign(Classifier model, IReadOnlyList<ParameterGroup> groups, TrainOptions options)
    {
        foreach (var g in groups) g.Check();
        var members = groups.Select(_ => new List<(string, Parameter)>()).ToArray();
        var rest = new List<(string, Parameter)>();
        var names = new List<string>();
        foreach (var (name, p) in model.named_parameters())
        {
            names.Add(name);
            var index = groups.Select((g, i) => (g, i)).FirstOrDefault(x => x.g.Matches(name), (null!, -1)).Item2;
            var frozen = index >= 0 && groups[index].Frozen;
            p.requires_grad = !frozen;
            if (frozen) continue;
            (index >= 0 ? members[index] : rest).Add((name, p));
        }
        for (var i = 0; i < groups.Count; i++)
            if (!names.Any(groups[i].Matches))
                throw new ProteaException($"parameter group '{groups[i].Pattern}' matches no parameter of the model (its parameters are named {string.Join(", ", names.Select(n => n.Split('.')[0] + ".*").Distinct())})", "parameter_groups");
        var result = new List<OptimizerGroup>();
        if (rest.Count > 0) result.Add(new OptimizerGroup(rest, options.WeightDecay));
        for (var i = 0; i < groups.Count; i++)
            if (!groups[i].Frozen && members[i].Count > 0)
                result.Add(new OptimizerGroup(members[i], groups[i].WeightDecay ?? options.WeightDecay,
                    groups[i].LearningRate is { } lr ? lr / options.LearningRate : groups[i].LearningRateScale));
        return result;
    }

    private void Check()
    {
        if (LearningRate is { } lr && (lr < 0 || !double.IsFinite(lr)))
            throw new ProteaException($"parameter group '{Pattern}': learning rate {lr} must be a non-negative number", "parameter_groups");
        if (LearningRateScale < 0 || !double.IsFinite(LearningRateScale))
            throw new ProteaException($"parameter group '{Pattern}': learning-rate scale {LearningRateScale} must be a non-negative number", "parameter_groups");
        if (WeightDecay is { } wd && (wd < 0 || !double.IsFinite(wd)))
            throw new ProteaException($"parameter group '{Pattern}': weight decay {wd} must be a non-negative number", "parameter_groups");
    }
}

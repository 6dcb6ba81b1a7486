using Protea.Models;
using static TorchSharp.torch;

namespace Protea.Incremental;

/// <summary>Copies and grows saved models: the backbone as it is, the head with more classes (<see cref="IGrowableHead"/>).</summary>
public static class ModelGrowth
{
    /// <summary>A new bundle whose class list is the old one followed by <paramref name="newNames"/>; the old bundle is left as it is.</summary>
    public static ModelBundle Grow(ModelBundle bundle, IReadOnlyList<string> newNames)
    {
        var d = bundle.Description;
        var clash = newNames.FirstOrDefault(n => d.ClassNames.Contains(n, StringComparer.Ordinal));
        if (clash is not null)
            throw new ProteaException($"class '{clash}' is already one of the model's classes ({string.Join(", ", d.ClassNames)})", "name");
        var duplicate = newNames.GroupBy(n => n, StringComparer.Ordinal).FirstOrDefault(g => g.Count() > 1);
        if (duplicate is not null)
            throw new ProteaException($"class '{duplicate.Key}' is given twice", "name");
        if (bundle.Model.Head is not IGrowableHead growable)
            throw new ProteaException($"head '{d.Head}' cannot take new classes", "head");
        if (newNames.Count == 0) return Copy(bundle);
        using var head = growable.Grow(newNames.Count);
        var description = d with { ClassNames = d.ClassNames.Concat(newNames).ToArray(), HeadConfig = null, Metrics = new Dictionary<string, double>() };
        var model = Architectures.Create(description);
        var state = new Dictionary<string, Tensor>();
        foreach (var (name, tensor) in bundle.Model.state_dict())
            if (!name.StartsWith("head.", StringComparison.Ordinal)) state[name] = tensor;
        foreach (var (name, tensor) in head.state_dict()) state["head." + name] = tensor;
        ModelBundle.LoadInto(model, state, "the grown model");
        model.eval();
        return new ModelBundle(description, model);
    }

    /// <summary>An independent copy (a teacher for distillation).</summary>
    public static ModelBundle Copy(ModelBundle bundle)
    {
        var model = Architectures.Create(bundle.Description);
        ModelBundle.LoadInto(model, bundle.Model.state_dict(), "the copied model");
        model.eval();
        return new ModelBundle(bundle.Description, model);
    }
}

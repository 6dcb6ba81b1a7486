using Protea.Models;

namespace Protea.Explanations;

/// <summary>The explanation methods by name: one registration line each (the first is the default).</summary>
public static class Explainers
{
    public static Catalog<ExplainerSpec> Catalog { get; } = Create(
        GradCam.Spec,
        GradCamPlusPlus.Spec,
        VanillaGradient.Spec,
        GradientTimesInput.Spec,
        SmoothGrad.Spec,
        IntegratedGradients.Spec,
        RandomAttribution.Spec,
        Prototypes.PrototypeActivation.Spec);

    public static string Default => Catalog.All[0].Name;

    /// <summary>The methods that explain a model described by <paramref name="description"/>, in catalog order.</summary>
    public static IReadOnlyList<string> For(Models.ModelDescription description) =>
        Catalog.All.Where(s => s.AppliesTo?.Invoke(description) ?? true).Select(s => s.Name).ToList();

    /// <summary>The method named <paramref name="name"/>, configured by <paramref name="options"/>; an unknown name is a user mistake.</summary>
    public static IExplainer Create(string name, ExplainerOptions? options = null)
    {
        var o = options ?? new ExplainerOptions();
        o.Check();
        return Catalog.Get(name.Trim().ToLowerInvariant()).Create(o);
    }

    private static Catalog<ExplainerSpec> Create(params ExplainerSpec[] specs)
    {
        var catalog = new Catalog<ExplainerSpec>("explanation method", "method");
        foreach (var spec in specs) catalog.Register(spec);
        return catalog;
    }
}

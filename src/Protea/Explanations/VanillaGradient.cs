using static TorchSharp.torch;

namespace Protea.Explanations;

/// <summary>Saliency map (Simonyan et al. 2014): |d(target logit)/d(pixel)|, the largest over a pixel's channels.</summary>
public sealed class VanillaGradient : IExplainer
{
    public static readonly ExplainerSpec Spec = new("gradient", "vanilla gradient: |d logit / d pixel|, max over channels", _ => new VanillaGradient());

    public string Name => Spec.Name;

    public Tensor Explain(ExplainedModel model, Tensor pixels, Tensor targets)
    {
        using var g = model.InputGradient(pixels, targets);
        using var abs = g.abs();
        return abs.amax([1]);
    }
}

using static TorchSharp.torch;

namespace Protea.Explanations;

/// <summary>Gradient x input (Shrikumar et al. 2016): d(logit)/d(pixel) * pixel, summed over channels (signed; Integrated Gradients with one step from black).</summary>
public sealed class GradientTimesInput : IExplainer
{
    public static readonly ExplainerSpec Spec = new("gradxinput", "gradient x input, summed over channels", _ => new GradientTimesInput());

    public string Name => Spec.Name;

    public Tensor Explain(ExplainedModel model, Tensor pixels, Tensor targets)
    {
        using var scope = NewDisposeScope();
        var g = model.InputGradient(pixels, targets);
        return (g * pixels).sum(1).MoveToOuterDisposeScope();
    }
}

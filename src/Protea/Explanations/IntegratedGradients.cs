using TorchSharp;
using static TorchSharp.torch;

namespace Protea.Explanations;

/// <summary>
/// Integrated Gradients (Sundararajan et al. 2017): (x - x') * mean over k = 1..m of the gradient at
/// x' + (k / m)(x - x'), the right Riemann sum, summed over channels (signed; the attributions add
/// up to f(x) - f(x') as m grows). The baseline x' is black, the training mean or the blurred image.
/// </summary>
public sealed class IntegratedGradients(int steps, ImageBaseline baseline) : IExplainer
{
    public static readonly ExplainerSpec Spec = new("ig", "Integrated Gradients (steps, baseline black|mean|blur)", o => new IntegratedGradients(o.Steps, o.Baseline));

    public string Name => Spec.Name;

    public Tensor Explain(ExplainedModel model, Tensor pixels, Tensor targets)
    {
        using var scope = NewDisposeScope();
        var start = ImageBaselines.For(baseline, model, pixels);
        var path = pixels - start;
        var sum = zeros_like(pixels);
        for (var k = 1; k <= steps; k++)
        {
            using var inner = NewDisposeScope();
            using var alpha = ((double)k / steps).ToScalar(); // held: TorchSharp frees temporary Scalars only when finalised
            sum.add_(model.InputGradient(start.add(path, alpha), targets));
        }
        using var perStep = (1.0 / steps).ToScalar();
        return sum.mul_(path).mul_(perStep).sum(1).MoveToOuterDisposeScope();
    }
}

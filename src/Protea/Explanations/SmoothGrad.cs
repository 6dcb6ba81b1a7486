using TorchSharp;
using static TorchSharp.torch;

namespace Protea.Explanations;

/// <summary>
/// SmoothGrad (Smilkov et al. 2017): the gradient averaged over noisy copies of the image (Gaussian,
/// sigma in pixel units), then |.| and the largest over channels, as <see cref="VanillaGradient"/>.
/// The noise comes from a generator seeded by the options, so maps repeat.
/// </summary>
public sealed class SmoothGrad(int samples, double sigma, int seed) : IExplainer
{
    public static readonly ExplainerSpec Spec = new("smoothgrad", "SmoothGrad: gradient averaged over noisy copies (samples, sigma)", o => new SmoothGrad(o.Samples, o.Sigma, o.Seed));

    public string Name => Spec.Name;

    public Tensor Explain(ExplainedModel model, Tensor pixels, Tensor targets)
    {
        using var scope = NewDisposeScope();
        using var generator = new Generator((ulong)seed);
        using var noise = sigma.ToScalar(); // held: TorchSharp frees temporary Scalars only when finalised
        using var perSample = (1.0 / samples).ToScalar();
        var sum = zeros_like(pixels);
        for (var s = 0; s < samples; s++)
        {
            using var inner = NewDisposeScope();
            var noisy = pixels.add(randn(pixels.shape, generator: generator), noise);
            sum.add_(model.InputGradient(noisy, targets));
        }
        return sum.mul_(perSample).abs().amax([1]).MoveToOuterDisposeScope();
    }
}

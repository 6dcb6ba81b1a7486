using TorchSharp;
using static TorchSharp.torch;

namespace Protea.Explanations;

/// <summary>
/// SmoothGrad (Smilkov et al. 2017): the gradient averaged over noisy copies of the image (Gaussian,
/// sigma in pixel units), then |.| and the largest over channels, as <see cref="VanillaGradient"/>.
/// The noise comes from a generator seeded by the options, so maps repeat; <see cref="ExplainWithNoise"/>
/// takes the standard-normal draws from the caller instead (a reference implementation can then use the same).
/// </summary>
public sealed class SmoothGrad(int samples, double sigma, int seed) : IExplainer
{
    public static readonly ExplainerSpec Spec = new("smoothgrad", "SmoothGrad: gradient averaged over noisy copies (samples, sigma)", o => new SmoothGrad(o.Samples, o.Sigma, o.Seed));

    public string Name => Spec.Name;

    public Tensor Explain(ExplainedModel model, Tensor pixels, Tensor targets)
    {
        using var generator = new Generator((ulong)seed);
        return Average(model, pixels, targets, samples, _ => randn(pixels.shape, generator: generator));
    }

    /// <summary>The map with the caller's standard-normal draws <paramref name="noise"/> [samples, N, C, H, W] (times sigma) in place of the seeded ones.</summary>
    public Tensor ExplainWithNoise(ExplainedModel model, Tensor pixels, Tensor targets, Tensor noise)
    {
        if (noise.dim() != pixels.dim() + 1 || !noise.shape.Skip(1).SequenceEqual(pixels.shape))
            throw new ArgumentException($"noise must be [samples, {string.Join(", ", pixels.shape)}], not [{string.Join(", ", noise.shape)}]");
        return Average(model, pixels, targets, (int)noise.shape[0], s => noise[s]);
    }

    private Tensor Average(ExplainedModel model, Tensor pixels, Tensor targets, int count, Func<int, Tensor> draw)
    {
        using var scope = NewDisposeScope();
        using var noise = sigma.ToScalar(); // held: TorchSharp frees temporary Scalars only when finalised
        using var perSample = (1.0 / count).ToScalar();
        var sum = zeros_like(pixels);
        for (var s = 0; s < count; s++)
        {
            using var inner = NewDisposeScope();
            var noisy = pixels.add(draw(s), noise);
            sum.add_(model.InputGradient(noisy, targets));
        }
        return sum.mul_(perSample).abs().amax([1]).MoveToOuterDisposeScope();
    }
}

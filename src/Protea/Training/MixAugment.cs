using TorchSharp;
using static TorchSharp.torch;

namespace Protea.Training;

/// <summary>
/// Mixup (Zhang et al. 2018) and CutMix (Yun et al. 2019) on a normalised batch: each batch is mixed
/// with a permutation of itself with weight lam ~ Beta(alpha, alpha); the loss is
/// lam * CE(y) + (1 - lam) * CE(y[perm]). With both enabled each batch picks one at random (timm's switch).
/// </summary>
public sealed class MixAugment(double mixupAlpha, double cutMixAlpha)
{
    public bool Enabled => mixupAlpha > 0 || cutMixAlpha > 0;

    /// <summary>A mixed batch: inputs, the partner permutation and the weight of the original labels.</summary>
    public sealed record Mixed(Tensor Inputs, Tensor Permutation, double Lambda);

    public Mixed Apply(Tensor x, Random random, Generator generator)
    {
        var useCutMix = cutMixAlpha > 0 && (mixupAlpha <= 0 || random.NextDouble() < 0.5);
        var lam = Beta.Sample(random, useCutMix ? cutMixAlpha : mixupAlpha);
        var perm = randperm(x.shape[0], generator: generator);
        using var scope = NewDisposeScope();
        var partner = x.index_select(0, perm);
        Tensor mixed;
        if (useCutMix)
        {
            long h = x.shape[2], w = x.shape[3];
            var cut = Math.Sqrt(1 - lam);
            long ch = (long)(h * cut), cw = (long)(w * cut);
            long cy = random.NextInt64(h), cx = random.NextInt64(w);
            long y0 = Math.Clamp(cy - ch / 2, 0, h), y1 = Math.Clamp(cy + ch / 2, 0, h);
            long x0 = Math.Clamp(cx - cw / 2, 0, w), x1 = Math.Clamp(cx + cw / 2, 0, w);
            mixed = x.clone();
            var box = new[] { TensorIndex.Colon, TensorIndex.Colon, TensorIndex.Slice(y0, y1), TensorIndex.Slice(x0, x1) };
            mixed.index_put_(partner.index(box), box);
            lam = 1 - (double)((y1 - y0) * (x1 - x0)) / (h * w);
        }
        else
        {
            using var keep = lam.ToScalar();
            using var take = (1 - lam).ToScalar();
            mixed = x.mul(keep).add_(partner.mul(take));
        }
        return new Mixed(mixed.MoveToOuterDisposeScope(), perm, lam);
    }
}

using TorchSharp;
using static TorchSharp.torch;

namespace Protea.Training;

/// <summary>
/// Per-batch augmentation with whole-tensor ops on the raw uint8 batch (before normalisation, so
/// padding is black as in torchvision's RandomCrop): random horizontal flip and random crop with
/// zero padding, each example drawing its own flip and offset from the run's seeded generator.
/// </summary>
public sealed class BatchAugmenter(bool flip, int cropPadding)
{
    public bool IsIdentity => !flip && cropPadding == 0;

    public Tensor Apply(Tensor raw, Generator generator)
    {
        using var scope = NewDisposeScope();
        var x = raw;
        var n = x.shape[0];
        if (flip)
        {
            using var half = 0.5.ToScalar(); // held: TorchSharp frees temporary Scalars when the GC finalises them
            var mask = rand(n, generator: generator).lt(half).view(n, 1, 1, 1);
            x = where(mask, x.flip(3), x);
        }
        if (cropPadding > 0)
            x = RandomCrop(x, cropPadding, generator);
        return (ReferenceEquals(x, raw) ? x.alias() : x).MoveToOuterDisposeScope();
    }

    /// <summary>Pads by p and takes an H x W window at a per-example random offset, as one gather.</summary>
    private static Tensor RandomCrop(Tensor x, int p, Generator generator)
    {
        long n = x.shape[0], c = x.shape[1], h = x.shape[2], w = x.shape[3];
        long wp = w + 2 * p;
        var padded = nn.functional.pad(x, [p, p, p, p]).view(n, c, (h + 2 * p) * wp);
        var dy = randint(0, 2 * p + 1, [n], generator: generator).view(n, 1, 1);
        var dx = randint(0, 2 * p + 1, [n], generator: generator).view(n, 1, 1);
        using var one = 1.ToScalar();
        using var stride = wp.ToScalar();
        var rows = dy.add(arange(h).view(1, h, 1), one);
        var cols = dx.add(arange(w).view(1, 1, w), one);
        var index = rows.mul(stride).add(cols, one).view(n, 1, h * w).expand(n, c, h * w);
        return padded.gather(2, index).view(n, c, h, w);
    }
}

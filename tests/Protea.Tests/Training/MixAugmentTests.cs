using Protea.Training;
using static TorchSharp.torch;

namespace Protea.Tests.Training;

public sealed class MixAugmentTests
{
    [Fact]
    public void Mixup_IsTheConvexCombinationWithThePartner()
    {
        using var x = randn(16, 1, 4, 4, generator: new Generator(2));
        var mixed = new MixAugment(mixupAlpha: 0.4, cutMixAlpha: 0).Apply(x, new Random(1), new Generator(3));
        Assert.InRange(mixed.Lambda, 0, 1);
        using var expected = x * mixed.Lambda + x.index_select(0, mixed.Permutation) * (1 - mixed.Lambda);
        Assert.True(mixed.Inputs.allclose(expected, rtol: 1e-6, atol: 1e-6));
    }

    [Fact]
    public void CutMix_PastesOneBoxAndLambdaIsTheKeptArea()
    {
        using var x = arange(16 * 10 * 10, dtype: float32).reshape(16, 1, 10, 10);
        var mixed = new MixAugment(mixupAlpha: 0, cutMixAlpha: 1.0).Apply(x, new Random(4), new Generator(5));
        using var partner = x.index_select(0, mixed.Permutation);
        using var fromPartner = mixed.Inputs.eq(partner).logical_and(x.ne(partner));
        // Every example takes the same box from its partner: the changed pixels are (1 - lambda) of the image.
        var changed = fromPartner[0].sum().item<long>();
        Assert.Equal(1 - mixed.Lambda, changed / 100.0, 1e-9);
        using var keptOrPasted = mixed.Inputs.eq(x).logical_or(mixed.Inputs.eq(partner));
        Assert.True(keptOrPasted.all().item<bool>());
    }

    [Fact]
    public void BetaSamples_HaveTheRightMean()
    {
        var random = new Random(9);
        var samples = Enumerable.Range(0, 20000).Select(_ => Beta.Sample(random, 0.4)).ToArray();
        Assert.All(samples, s => Assert.InRange(s, 0, 1));
        Assert.Equal(0.5, samples.Average(), 0.02);
        // Var of Beta(a, a) = 1 / (4 (2a + 1)) = 0.1388... for a = 0.4.
        var variance = samples.Select(s => (s - 0.5) * (s - 0.5)).Average();
        Assert.Equal(1.0 / (4 * 1.8), variance, 0.01);
    }
}

using Protea.Training;
using Protea.Tests.Support;
using static TorchSharp.torch;

namespace Protea.Tests.Training;

public sealed class BatchAugmenterTests
{
    [Fact]
    public void Flip_MirrorsAboutHalfTheExamplesAndKeepsTheOthers()
    {
        using var x = randint(0, 256, [400, 1, 5, 7], dtype: uint8, generator: new Generator(1));
        using var g = new Generator(7);
        using var y = new BatchAugmenter(flip: true, cropPadding: 0).Apply(x, g);
        var flipped = 0;
        for (var i = 0; i < 400; i++)
        {
            using var xi = x[i];
            using var yi = y[i];
            using var mirror = xi.flip(2);
            var same = TensorAssert.Identical(yi, xi);
            var isMirror = TensorAssert.Identical(yi, mirror);
            Assert.True(same || isMirror);
            if (isMirror && !same) flipped++;
        }
        Assert.InRange(flipped, 150, 250);
    }

    [Fact]
    public void Crop_IsAWindowOfTheZeroPaddedImage()
    {
        const int p = 2;
        using var x = randint(1, 256, [64, 2, 6, 6], dtype: uint8, generator: new Generator(3));
        using var g = new Generator(11);
        using var y = new BatchAugmenter(flip: false, cropPadding: p).Apply(x, g);
        Assert.Equal(x.shape, y.shape);
        using var padded = nn.functional.pad(x, [p, p, p, p]);
        var offsets = new HashSet<(int, int)>();
        for (var i = 0; i < 64; i++)
        {
            var found = false;
            for (var dy = 0; dy <= 2 * p && !found; dy++)
                for (var dx = 0; dx <= 2 * p && !found; dx++)
                {
                    using var window = padded[i, .., dy..(dy + 6), dx..(dx + 6)];
                    using var yi = y[i];
                    if (TensorAssert.Identical(yi, window)) { found = true; offsets.Add((dy, dx)); }
                }
            Assert.True(found, $"example {i} is not a window of its padded image");
        }
        Assert.True(offsets.Count > 10, "offsets should vary between examples");
    }

    [Fact]
    public void SameGeneratorSeed_GivesSameAugmentation()
    {
        using var x = randint(0, 256, [32, 1, 8, 8], dtype: uint8, generator: new Generator(5));
        var augmenter = new BatchAugmenter(flip: true, cropPadding: 3);
        using var a = augmenter.Apply(x, new Generator(42));
        using var b = augmenter.Apply(x, new Generator(42));
        Assert.True(TensorAssert.Identical(a, b));
    }
}

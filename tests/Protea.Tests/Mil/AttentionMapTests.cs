using Protea.Mil;
using Protea.Predictions;
using Protea.Tests.Support;
using SkiaSharp;

namespace Protea.Tests.Mil;

public sealed class AttentionMapTests
{
    private static BagPrediction Sample()
    {
        // Two overlapping 4x4 patches on an 8x6 image, weights 0.2 and 0.8; the second is the top patch.
        PatchBox a = new(0, 0, 4, 4), b = new(2, 2, 4, 4);
        var prediction = new Prediction("x.png", "positive", 0.9, [new ClassProbability("positive", 0.9)], [])
        {
            Evidence = [new PatchEvidence(1, b, 0.8)],
        };
        return new BagPrediction(prediction, 8, 6, [a, b], [0.2, 0.8]);
    }

    [Fact]
    public void Attribution_is_the_strongest_covering_patch_scaled_to_the_largest_weight()
    {
        var map = AttentionMap.Attribution(Sample());
        float At(int x, int y) => map[y * 8 + x];
        Assert.Equal(0.25f, At(0, 0), 1e-6f);  // only a: 0.2 / 0.8
        Assert.Equal(1f, At(3, 3), 1e-6f);     // a and b: the larger
        Assert.Equal(1f, At(5, 5), 1e-6f);     // only b
        Assert.Equal(0f, At(7, 0));            // no patch
    }

    [Fact]
    public void The_top_patch_is_outlined()
    {
        using var dir = new TempDir();
        var image = TestImages.Write(dir.File("x.png"), 8, 6, (_, _) => new SKColor(100, 100, 100), gray: true);
        using var map = SKBitmap.Decode(AttentionMap.Render(image, Sample()));
        Assert.Equal(SKColors.Yellow, map.GetPixel(2, 2));
        Assert.Equal(new SKColor(100, 100, 100), map.GetPixel(7, 0)); // untouched outside every patch
        var tinted = map.GetPixel(1, 1);                             // a, weight 0.25 of the maximum: reddened
        Assert.True(tinted.Red > 100 && tinted.Green < 100, tinted.ToString());
    }
}

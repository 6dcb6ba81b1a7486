using Protea.Data;
using Protea.Models;
using Protea.Tests.Support;
using Protea.Training;
using static TorchSharp.torch;

namespace Protea.Tests.Training;

public sealed class ScarfTests
{
    // Column j holds 1000 * j + row: every value says which column (and row) it came from.
    private static Tensor Table(int n, int d) =>
        arange(n, dtype: float32).view(n, 1).add(arange(d, dtype: float32).mul(1000).view(1, d));

    [Theory]
    [InlineData(0.6)]
    [InlineData(0.3)]
    [InlineData(0.0)]
    public void Corrupt_KeepsTheShape_ReplacesAboutTheRate_WithValuesOfTheSameColumn(double rate)
    {
        const int n = 200, d = 30;
        using var x = Table(n, d);
        using var y = Scarf.Corrupt(x, rate, new Generator(7));
        Assert.Equal(x.shape, y.shape);
        var before = x.data<float>().ToArray();
        var after = y.data<float>().ToArray();
        var changed = 0;
        for (var i = 0; i < n; i++)
            for (var j = 0; j < d; j++)
            {
                var v = after[i * d + j];
                // From column j: 1000 j + some row of the batch.
                Assert.Equal(j, (int)Math.Floor(v / 1000));
                Assert.InRange(v - 1000 * j, 0, n - 1);
                if (v != before[i * d + j]) changed++;
            }
        // A replacement drawn from the same row keeps the value: expected changed fraction rate * (1 - 1/n).
        var fraction = changed / (double)(n * d);
        Assert.Equal(rate * (1 - 1.0 / n), fraction, 0.03);
    }

    [Fact]
    public void Corrupt_IsReproducibleFromTheGenerator_AndChecksTheRate()
    {
        using var x = Table(50, 8);
        using var a = Scarf.Corrupt(x, 0.6, new Generator(3));
        using var b = Scarf.Corrupt(x, 0.6, new Generator(3));
        using var c = Scarf.Corrupt(x, 0.6, new Generator(4));
        Assert.True(TensorAssert.Identical(a, b));
        Assert.False(TensorAssert.Identical(a, c));
        Assert.Equal("corruption_rate", Assert.Throws<ProteaException>(() => Scarf.Corrupt(x, 1.5, new Generator(1))).Field);
    }

    [Fact]
    public void TwoViews_OfImages_DifferAndStayNormalisedShape()
    {
        using var raw = randint(0, 256, [16, 1, 12, 12], generator: new Generator(1)).to(uint8);
        var normalization = InputNormalization.Fit(raw);
        var views = new TwoViewAugmenter(InputKind.Image, [1, 12, 12]);
        using var generator = new Generator(5);
        using var first = views.View(raw, normalization, generator);
        using var second = views.View(raw, normalization, generator);
        Assert.Equal(new long[] { 16, 1, 12, 12 }, first.shape);
        Assert.Equal(ScalarType.Float32, first.dtype);
        Assert.False(first.allclose(second));
        using var plain = normalization.Apply(raw);
        // Noise alone (std 0.1) would leave a view within ~0.5 of the plain batch; crops and flips move pixels further.
        Assert.True(first.sub(plain).abs().max().item<float>() > 0.5f);
    }

    [Fact]
    public void TwoViews_OfTables_AreScarfCorruptions()
    {
        using var raw = Table(64, 10);
        var normalization = InputNormalization.Fit(raw);
        var views = new TwoViewAugmenter(InputKind.Tabular, [10]);
        using var view = views.View(raw, normalization, new Generator(2));
        using var plain = normalization.Apply(raw);
        using var same = view.isclose(plain);
        var kept = same.to(float32).mean().item<float>();
        Assert.InRange(kept, 0.3, 0.5); // 1 - 0.6 (1 - 1/64) = 0.41
    }
}

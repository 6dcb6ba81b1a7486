using Protea.Models;
using Protea.Tests.Support;
using static TorchSharp.torch;

namespace Protea.Tests.Models;

public sealed class InputNormalizationTests
{
    [Fact]
    public void Fit_OnImages_MatchesNumpyPerChannelStatistics()
    {
        using var images = randint(0, 256, [50, 3, 5, 7], dtype: uint8, generator: new Generator(4));
        using var dir = new TempDir();
        File.WriteAllBytes(dir.File("x.bin"), images.bytes.ToArray());
        var expected = Python.Run("""
            import sys, json, numpy as np
            x = np.fromfile(sys.argv[1], dtype=np.uint8).reshape(50, 3, 5, 7).astype(np.float64) / 255.0
            print(json.dumps([x.mean(axis=(0, 2, 3)).tolist(), x.std(axis=(0, 2, 3)).tolist()]))
            """, dir.File("x.bin"));
        var stats = System.Text.Json.JsonSerializer.Deserialize<double[][]>(expected)!;
        // A chunk smaller than the data set, so the accumulation across chunks is exercised.
        var fitted = InputNormalization.Fit(images, chunk: 7);
        for (var c = 0; c < 3; c++)
        {
            Assert.Equal(stats[0][c], fitted.Mean[c], 1e-12);
            Assert.Equal(stats[1][c], fitted.Std[c], 1e-9);
        }
        Assert.Equal(1 / 255.0, fitted.Scale);
    }

    [Fact]
    public void Apply_GivesZeroMeanUnitStdOnTheFittedData()
    {
        using var features = randn(400, 4, generator: new Generator(2)) * 3 + 5;
        var fitted = InputNormalization.Fit(features, chunk: 64);
        using var x = fitted.Apply(features);
        using var mean = x.mean([0]);
        using var std = x.std([0], unbiased: false);
        Assert.True(mean.abs().max().item<float>() < 1e-4);
        Assert.True((std - 1).abs().max().item<float>() < 1e-4);
    }

    [Fact]
    public void Fit_ConstantFeature_GetsUnitStd()
    {
        using var features = ones(10, 2);
        Assert.Equal([1.0, 1.0], InputNormalization.Fit(features).Std);
    }
}

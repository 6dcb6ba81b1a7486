using Protea.Explanations;
using Protea.Models;
using Protea.Tests.Support;
using static TorchSharp.torch;

namespace Protea.Tests.Explanations;

/// <summary>The cascading randomisation check flags a map that ignores the model, and passes one that reads it.</summary>
public sealed class SanityCheckTests
{
    /// <summary>An edge detector: the same map whatever the model (the failure Adebayo et al. found in guided backprop).</summary>
    private sealed class ModelBlind : IExplainer
    {
        public string Name => "edges";

        public Tensor Explain(ExplainedModel model, Tensor pixels, Tensor targets) =>
            (pixels - pixels.roll(1, 3)).abs().sum(1);
    }

    [Fact]
    public void AModelBlindMapIsFlaggedAndTheGradientIsNot()
    {
        using var dir = new TempDir();
        ExplanationModels.Save(dir.Path);
        var (images, _) = FashionMnist.FirstTestImages(6);
        using var raw = images;
        var report = SanityCheck.Run(() => new ExplainedModel(ModelBundle.Load(dir.Path)), raw, [new ModelBlind(), Explainers.Create("gradient")]);

        var layers = new[] { "head", "backbone.block5.conv", "backbone.block4.conv", "backbone.block3.conv", "backbone.block2.conv", "backbone.block1.conv" };
        var blind = report.Methods[0];
        Assert.Equal(layers, blind.Layers);
        Assert.All(blind.Spearman, rho => Assert.Equal(1.0, rho, 1e-9));
        Assert.True(blind.Flagged);
        var gradient = report.Methods[1];
        Assert.Equal(layers.Length, gradient.Spearman.Count);
        Assert.True(gradient.Spearman[^1] < SanityCheck.Threshold, $"gradient maps still correlate {gradient.Spearman[^1]} after full randomisation");
        Assert.False(gradient.Flagged);
    }
}

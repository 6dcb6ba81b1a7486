using Protea.Explanations;
using Protea.Models;
using Protea.Tests.Support;
using static TorchSharp.torch;

namespace Protea.Tests.Explanations;

/// <summary>Grad-CAM on a ResNet-18 at its feature map and at an inner convolution; the map follows the layer's resolution.</summary>
public sealed class ResNetLayerTests
{
    [Fact]
    public void GradCamReadsAnyConvolutionOfAResNet()
    {
        using var dir = new TempDir();
        ExplanationModels.Save(dir.Path, "resnet18", [3, 16, 16], classes: 4);
        using var bundle = ModelBundle.Load(dir.Path);
        var model = new ExplainedModel(bundle);
        Assert.Contains("backbone.layer3.1.conv2", model.Layers);
        using var scope = NewDisposeScope();
        var pixels = rand([3, 3, 16, 16], generator: new Generator(1));
        var targets = tensor(new long[] { 0, 1, 3 });
        var last = Explainers.Create("gradcam").Explain(model, pixels, targets);
        var inner = Explainers.Create("gradcam", new ExplainerOptions { Layer = "backbone.layer2.0.conv1" }).Explain(model, pixels, targets);
        Assert.Equal(new long[] { 3, 16, 16 }, last.shape);
        Assert.Equal(new long[] { 3, 16, 16 }, inner.shape);
        Assert.True(inner.ge(0).all().item<bool>() && inner.max().item<float>() > 0);
        Assert.False(last.allclose(inner));
        var e = Assert.Throws<ProteaException>(() => Explainers.Create("gradcam", new ExplainerOptions { Layer = "backbone.fc" }).Explain(model, pixels, targets));
        Assert.Equal("layer", e.Field);
    }
}

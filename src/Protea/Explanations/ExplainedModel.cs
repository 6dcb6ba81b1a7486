using Protea.Data;
using Protea.Models;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Protea.Explanations;

/// <summary>
/// An image model seen as a function of its input pixels: p in [0, 1] ([N, C, H, W] float32, raw / 255)
/// -> normalised input -> logits. Attributions are taken with respect to these pixels, so gradient x
/// input and a black baseline mean the same thing whatever the model's normalisation. The network is
/// put in eval mode (BatchNorm uses its running statistics, so images in a batch are independent and
/// the gradient of a batch's summed target logits is each image's own gradient).
/// </summary>
public sealed class ExplainedModel
{
    /// <summary>The layer name that stands for the backbone's last feature map (the default for Grad-CAM).</summary>
    public const string FeatureMapLayer = "features";

    private readonly Tensor mean, std;

    public ExplainedModel(ModelBundle bundle)
    {
        var d = bundle.Description;
        if (d.InputKind != InputKind.Image || d.InputShape.Length != 3)
            throw new ProteaException($"saliency is for image models; this model ({d.Architecture}) takes {d.InputKind.ToString().ToLowerInvariant()} input", "model");
        Bundle = bundle;
        Network = bundle.Model;
        Network.eval();
        InputShape = d.InputShape;
        var shape = new long[] { 1, d.Normalization.Mean.Length, 1, 1 };
        mean = tensor(d.Normalization.Mean.Select(m => (float)m).ToArray()).reshape(shape);
        std = tensor(d.Normalization.Std.Select(s => (float)s).ToArray()).reshape(shape);
        Convolutions = Network.named_modules().Where(m => m.module is Conv2d).Select(m => (m.name, (Conv2d)m.module)).ToList();
    }

    public ModelBundle Bundle { get; }
    public Classifier Network { get; }

    /// <summary>[C, H, W] of one input.</summary>
    public long[] InputShape { get; }

    /// <summary>Every convolution by its state-dict name (e.g. "backbone.block3.conv"), in forward order.</summary>
    public IReadOnlyList<(string Name, Conv2d Module)> Convolutions { get; }

    /// <summary>The layers Grad-CAM can read: <see cref="FeatureMapLayer"/>, then every convolution.</summary>
    public IReadOnlyList<string> Layers => [FeatureMapLayer, .. Convolutions.Select(c => c.Name)];

    /// <summary>Raw uint8 images [N, C, H, W] as pixels in [0, 1].</summary>
    public static Tensor Pixels(Tensor raw)
    {
        using var scale = (1.0 / 255.0).ToScalar();
        using var x = raw.to(float32);
        return x.mul(scale);
    }

    /// <summary>The training mean per channel as an image of pixels [1, C, 1, 1] (the normalised input's zero).</summary>
    public Tensor MeanPixel => mean;

    public Tensor Normalize(Tensor pixels) => pixels.sub(mean).div(std);

    public Tensor Logits(Tensor pixels)
    {
        using var x = Normalize(pixels);
        return Network.forward(x);
    }

    /// <summary>
    /// Logits and the activation of <paramref name="layer"/> ([N, K, h, w]) in one pass, both in the
    /// autograd graph. The activation belongs to no dispose scope: the caller disposes it.
    /// </summary>
    public (Tensor Logits, Tensor Activation) LogitsAndActivation(Tensor pixels, string? layer)
    {
        var x = Normalize(pixels);
        if (layer is null or FeatureMapLayer)
        {
            var backbone = Network.Backbone;
            var map = backbone.FeatureMap(x);
            var logits = Network.Head.Consumes == Consumes.FeatureMap ? Network.Head.forward(map) : Network.Head.forward(backbone.Pool(map));
            return (logits, map.DetachFromDisposeScope());
        }
        var conv = Convolutions.FirstOrDefault(c => c.Name == layer).Module
            ?? throw new ProteaException($"layer '{layer}' is not a convolution of this {Bundle.Description.Architecture}; known: {string.Join(", ", Layers)}", "layer");
        Tensor? captured = null;
        Tensor result;
        // The module disposes the convolution's output once used (and inner dispose scopes would too):
        // it is kept out of every scope here and passed on as an alias, a view in the same autograd graph.
        using (ConvLayoutGuard.Tap((c, y) =>
               {
                   if (!ReferenceEquals(c, conv)) return y;
                   captured = y.DetachFromDisposeScope();
                   return y.alias();
               }))
            result = Network.forward(x);
        if (captured is null) throw new InvalidOperationException($"layer {layer} did not run in the forward pass");
        return (result, captured);
    }

    /// <summary>The summed logits of each image's target class: its gradient is each image's own.</summary>
    public static Tensor TargetScore(Tensor logits, Tensor targets) => logits.gather(1, targets.unsqueeze(1)).sum();

    /// <summary>d(target logit)/d(pixels) for each image, [N, C, H, W].</summary>
    public Tensor InputGradient(Tensor pixels, Tensor targets)
    {
        using var scope = NewDisposeScope();
        using var grad = enable_grad();
        var p = pixels.detach().requires_grad_(true);
        var score = TargetScore(Logits(p), targets);
        return autograd.grad([score], [p])[0].MoveToOuterDisposeScope();
    }

    /// <summary>The predicted class of each image.</summary>
    public Tensor Predict(Tensor pixels)
    {
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        return Logits(pixels).argmax(1).MoveToOuterDisposeScope();
    }

    /// <summary>Softmax probability of each image's target class, [N].</summary>
    public Tensor TargetProbability(Tensor pixels, Tensor targets)
    {
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        return Logits(pixels).softmax(1).gather(1, targets.unsqueeze(1)).squeeze(1).MoveToOuterDisposeScope();
    }
}

using Protea.Data;
using Protea.Explanations;
using Protea.Models;
using static TorchSharp.torch;

namespace Protea.Tests.Explanations;

/// <summary>
/// A model whose truth is known: logit 0 = s, logit 1 = -s with s = sum_i w_i x_i over fixed pixels, so
/// the probability of class 0 is sigmoid(2 s) and the right attribution for class 0 is w * x (which is
/// exactly gradient x input). Pixels are the network's input (normalisation mean 0, std 1).
/// </summary>
internal sealed class PixelSumBackbone : Backbone
{
    private readonly Tensor weights;

    public PixelSumBackbone(Tensor weights) : base("pixelsum")
    {
        this.weights = weights;
        RegisterComponents();
    }

    public override long EmbeddingDim => 1;

    public override Tensor FeatureMap(Tensor input) => (input * weights).sum([1, 2, 3]).reshape(-1, 1, 1, 1);

    /// <summary>An explained model of [1, size, size] images and its pixel weights [size * size].</summary>
    public static ExplainedModel Create(float[] pixelWeights, int size)
    {
        var backbone = new PixelSumBackbone(tensor(pixelWeights).reshape(1, 1, size, size));
        var head = new LinearHead(1, 2);
        using (no_grad())
        {
            head.get_parameter("weight")!.copy_(tensor(new float[] { 1, -1 }).reshape(2, 1));
            head.get_parameter("bias")!.zero_();
        }
        var description = new ModelDescription
        {
            Architecture = "pixelsum",
            Head = "linear",
            InputKind = InputKind.Image,
            InputShape = [1, size, size],
            ClassNames = ["on", "off"],
            Normalization = new InputNormalization([0.0], [1.0], 1.0 / 255),
        };
        var bundle = new ModelBundle(description, new Classifier(backbone, head));
        return new ExplainedModel(bundle);
    }
}

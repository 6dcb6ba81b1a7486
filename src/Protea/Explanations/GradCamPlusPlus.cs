using TorchSharp;
using static TorchSharp.torch;

namespace Protea.Explanations;

/// <summary>
/// Grad-CAM++ (Chattopadhay et al. 2018), in the closed form with exponential scores that implementations
/// use (e.g. pytorch-grad-cam): alpha = g^2 / (2 g^2 + sum_ij(A) g^3), zero where g = 0; the channel
/// weight is sum_ij alpha ReLU(g). Weights positive gradients pixel by pixel, so several instances of a
/// class all show.
/// </summary>
public sealed class GradCamPlusPlus(string? layer) : IExplainer
{
    public static readonly ExplainerSpec Spec = new("gradcampp", "Grad-CAM++ on a convolutional layer (default: the last feature map)", o => new GradCamPlusPlus(o.Layer));

    public string Name => Spec.Name;

    public Tensor Explain(ExplainedModel model, Tensor pixels, Tensor targets) =>
        GradCam.LayerMap(model, pixels, targets, layer, Weights);

    private static Tensor Weights(Tensor activation, Tensor g)
    {
        var g2 = g.square();
        var g3 = g2 * g;
        var sumA = activation.sum([2, 3], keepdim: true);
        using var two = 2.ToScalar(); // held: TorchSharp frees temporary Scalars only when finalised
        using var epsilon = 1e-7.ToScalar();
        var alpha = g2 / g2.mul(two).add_(sumA * g3).add_(epsilon);
        alpha = where(g.ne(0), alpha, zeros_like(alpha));
        return (alpha * g.relu()).sum([2, 3], keepdim: true);
    }
}

using static TorchSharp.torch;

namespace Protea.Explanations;

/// <summary>
/// Grad-CAM (Selvaraju et al. 2017): the layer's channels weighted by their spatially averaged gradient
/// of the target logit, summed, ReLU, bilinearly upsampled to the input (align_corners = false, as
/// PyTorch's interpolate). Not normalised: a larger map means a larger evidence in logit units.
/// </summary>
public sealed class GradCam(string? layer) : IExplainer
{
    public static readonly ExplainerSpec Spec = new("gradcam", "Grad-CAM on a convolutional layer (default: the last feature map)", o => new GradCam(o.Layer));

    public string Name => Spec.Name;

    public Tensor Explain(ExplainedModel model, Tensor pixels, Tensor targets) =>
        LayerMap(model, pixels, targets, layer, (activation, gradient) => gradient.mean([2, 3], keepdim: true));

    /// <summary>ReLU(sum_k w_k A_k) for the weights <paramref name="weights"/>(A, dS/dA) gives, upsampled to the input's size.</summary>
    internal static Tensor LayerMap(ExplainedModel model, Tensor pixels, Tensor targets, string? layer, Func<Tensor, Tensor, Tensor> weights)
    {
        using var scope = NewDisposeScope();
        using var grad = enable_grad();
        var p = pixels.detach();
        var (logits, activation) = model.LogitsAndActivation(p, layer);
        using var owned = activation;
        var gradient = autograd.grad([ExplainedModel.TargetScore(logits, targets)], [activation])[0];
        using var noGrad = no_grad();
        var a = activation.detach();
        var cam = (weights(a, gradient) * a).sum(1, keepdim: true).relu();
        var size = new[] { pixels.shape[2], pixels.shape[3] };
        var up = nn.functional.interpolate(cam, size, mode: InterpolationMode.Bilinear, align_corners: false);
        return up.squeeze(1).contiguous().MoveToOuterDisposeScope();
    }
}

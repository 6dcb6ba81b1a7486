using Protea.Explanations;
using Protea.Models;
using static TorchSharp.torch;

namespace Protea.Prototypes;

/// <summary>
/// `protea explain --method prototypes`: for each image, the similarity map of the target class's
/// prototype that contributes most to that class's logit (its best similarity times its last-layer
/// weight), upsampled bilinearly to the input ("this part looks like that prototype"). Only parts models
/// have it; the faithfulness evaluation and the sanity check treat it as any other attribution.
/// </summary>
public sealed class PrototypeActivation : IExplainer
{
    public static readonly ExplainerSpec Spec = new("prototypes",
        "parts models: the activation of the target class's most contributing prototype, upsampled", _ => new PrototypeActivation())
    {
        AppliesTo = d => d.Head == PartsHead.Name,
    };

    public string Name => Spec.Name;

    public Tensor Explain(ExplainedModel model, Tensor pixels, Tensor targets)
    {
        var head = PrototypeExplainer.HeadOf(model.Bundle);
        using var scope = NewDisposeScope();
        using var no = no_grad();
        var x = model.Normalize(pixels);
        var similarity = PartsHead.Similarity(head.Distances(model.Network.Backbone.FeatureMap(x)));   // [N, P, h, w]
        var best = similarity.amax([2, 3]);                                                            // [N, P]
        var weights = head.LastLayerWeight.index_select(0, targets);                                   // [N, P]
        var chosen = best.mul(weights).argmax(1);                                                      // [N]
        var n = pixels.shape[0];
        var rows = arange(n, dtype: ScalarType.Int64);
        var maps = similarity.index(rows, chosen).unsqueeze(1);                                        // [N, 1, h, w]
        var up = nn.functional.interpolate(maps, size: [pixels.shape[2], pixels.shape[3]], mode: InterpolationMode.Bilinear, align_corners: false);
        return up.squeeze(1).contiguous().MoveToOuterDisposeScope();
    }
}

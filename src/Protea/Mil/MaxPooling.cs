using TorchSharp;
using static TorchSharp.torch;

namespace Protea.Mil;

/// <summary>
/// Feature-wise maximum over each bag's instances. An instance's weight is the share of the D
/// maxima it supplied, so the instance that wins most features weighs most.
/// </summary>
public sealed class MaxPooling() : MilPooling("pooling")
{
    public static readonly MilPoolingSpec Spec = new("max", "feature-wise max of the instance embeddings", _ => new MaxPooling());

    public override string Kind => Spec.Name;

    public override PooledBags forward(Tensor instances, BagSegments segments)
    {
        using var one = 1.ToScalar();
        using var negInf = float.NegativeInfinity.ToScalar();
        var padded = segments.Pad(instances).masked_fill(segments.Mask.logical_not().unsqueeze(2), negInf);
        var (values, argmax) = padded.max(1);                                  // [B, D]
        var d = instances.shape[1];
        var flat = (argmax + arange(segments.Bags, device: instances.device).unsqueeze(1) * segments.MaxSize).reshape(-1);
        var wins = zeros((long)segments.Bags * segments.MaxSize, instances.dtype, instances.device)
            .index_add(0, flat, ones(flat.shape[0], instances.dtype, instances.device), one);
        var weights = wins.index_select(0, segments.PaddedIndex) / d;
        return new PooledBags(values, weights);
    }
}

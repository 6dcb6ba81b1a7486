using TorchSharp;
using static TorchSharp.torch;

namespace Protea.Mil;

/// <summary>Mean of each bag's instance embeddings; every instance weighs 1/n.</summary>
public sealed class MeanPooling() : MilPooling("pooling")
{
    public static readonly MilPoolingSpec Spec = new("mean", "mean of the instance embeddings", _ => new MeanPooling());

    public override string Kind => Spec.Name;

    public override PooledBags forward(Tensor instances, BagSegments segments)
    {
        using var one = 1.ToScalar();
        var sizes = tensor(segments.Sizes.Select(s => (float)s).ToArray(), device: instances.device);
        var sums = zeros([segments.Bags, instances.shape[1]], instances.dtype, instances.device).index_add(0, segments.BagOf, instances, one);
        var weights = sizes.index_select(0, segments.BagOf).reciprocal();
        return new PooledBags(sums / sizes.unsqueeze(1), weights);
    }
}

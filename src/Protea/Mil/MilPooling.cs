using Protea.Models;
using static TorchSharp.torch;

namespace Protea.Mil;

/// <summary>A bag's pooled embedding and each instance's weight in it.</summary>
/// <param name="Bags">[B, D] bag embeddings.</param>
/// <param name="Weights">[N] instance weights, summing to 1 within each bag (attention; 1/n for mean; for max, each instance's share of the D maxima it supplied).</param>
public sealed record PooledBags(Tensor Bags, Tensor Weights);

/// <summary>How a MIL pooling head is built: its name in model.json and the CLI, and its factory from the instance size.</summary>
public sealed record MilPoolingSpec(string Name, string Description, Func<long, MilPooling> Create) : IComponentSpec;

/// <summary>
/// A MIL pooling operator (Ilse et al. 2018, section 2.3): instance embeddings [N, D] of bags laid
/// out by <see cref="BagSegments"/> -> one embedding per bag plus per-instance weights, permutation-
/// invariant within each bag. Each operator lives in its own file and registers in <see cref="MilPoolings"/>.
/// </summary>
public abstract class MilPooling(string name) : TorchSharp.torch.nn.Module<Tensor, BagSegments, PooledBags>(name)
{
    public abstract string Kind { get; }
}

/// <summary>The MIL pooling operators by name; one line each.</summary>
public static class MilPoolings
{
    public static Catalog<MilPoolingSpec> All { get; } = Create(
        MeanPooling.Spec, MaxPooling.Spec, AttentionPooling.Spec, GatedAttentionPooling.Spec);

    private static Catalog<MilPoolingSpec> Create(params MilPoolingSpec[] specs)
    {
        var catalog = new Catalog<MilPoolingSpec>("MIL pooling", "pooling");
        foreach (var s in specs) catalog.Register(s);
        return catalog;
    }
}

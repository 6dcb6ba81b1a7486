using TorchSharp;
using Protea.Models;
using static TorchSharp.torch;
using TorchSharp.Modules;
using static TorchSharp.torch.nn;

namespace Protea.Mil;

/// <summary>
/// Attention-based MIL pooling (Ilse et al. 2018, eq. 8): a_k = softmax_k(wᵀ tanh(V h_k)) within each
/// bag, z = Σ a_k h_k. Field names follow the paper's V and w.
/// </summary>
public sealed class AttentionPooling : MilPooling
{
    public const long Hidden = 128;

    public static readonly MilPoolingSpec Spec = new("attention", "attention-weighted sum (Ilse et al. 2018)", d => new AttentionPooling(d));

    private readonly Linear attention_V;
    private readonly Linear attention_w;

    public AttentionPooling(long dim, long hidden = Hidden) : base("pooling")
    {
        attention_V = Linear(dim, hidden);
        attention_w = Linear(hidden, 1);
        RegisterComponents();
    }

    public override string Kind => Spec.Name;

    public override PooledBags forward(Tensor instances, BagSegments segments) =>
        AttentionSum.Pool(instances, attention_w.forward(attention_V.forward(instances).tanh()).squeeze(1), segments);
}

/// <summary>The softmax over each bag's scores and the weighted sum both attention heads share.</summary>
internal static class AttentionSum
{
    public static PooledBags Pool(Tensor instances, Tensor scores, BagSegments segments)
    {
        using var negInf = float.NegativeInfinity.ToScalar();
        var padded = segments.Pad(scores.unsqueeze(1)).squeeze(2).masked_fill(segments.Mask.logical_not(), negInf);
        var attention = padded.softmax(1);                                     // [B, L], zero on padding
        var bags = attention.unsqueeze(1).bmm(segments.Pad(instances)).squeeze(1);
        return new PooledBags(bags, segments.Unpad(attention.unsqueeze(2)).squeeze(1));
    }
}

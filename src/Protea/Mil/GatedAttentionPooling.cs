using static TorchSharp.torch;
using TorchSharp.Modules;
using static TorchSharp.torch.nn;

namespace Protea.Mil;

/// <summary>
/// Gated attention MIL pooling (Ilse et al. 2018, eq. 9): a_k = softmax_k(wᵀ (tanh(V h_k) ⊙ sigm(U h_k))),
/// z = Σ a_k h_k. The sigmoid gate lets the score be non-linear in h without tanh's near-linearity around 0.
/// </summary>
public sealed class GatedAttentionPooling : MilPooling
{
    public static readonly MilPoolingSpec Spec = new("gated-attention", "gated attention-weighted sum (Ilse et al. 2018)", d => new GatedAttentionPooling(d));

    private readonly Linear attention_V;
    private readonly Linear attention_U;
    private readonly Linear attention_w;

    public GatedAttentionPooling(long dim, long hidden = AttentionPooling.Hidden) : base("pooling")
    {
        attention_V = Linear(dim, hidden);
        attention_U = Linear(dim, hidden);
        attention_w = Linear(hidden, 1);
        RegisterComponents();
    }

    public override string Kind => Spec.Name;

    public override PooledBags forward(Tensor instances, BagSegments segments)
    {
        var gated = attention_V.forward(instances).tanh() * attention_U.forward(instances).sigmoid();
        return AttentionSum.Pool(instances, attention_w.forward(gated).squeeze(1), segments);
    }
}

using TorchSharp;
using static TorchSharp.torch;

namespace Protea.Training.Objectives;

/// <summary>
/// The loss shared by <see cref="SupConObjective"/> and <see cref="NtXentObjective"/>: the
/// supervised contrastive loss L_out of Khosla et al. (2020, eq. 2) over the 2N L2-normalised
/// vectors of two views. For anchor i with positives P(i) (every other vector of its class, its
/// other view included) and A(i) = all vectors but i:
/// l_i = -1/|P(i)| * sum_{p in P(i)} log( exp(z_i.z_p / t) / sum_{a in A(i)} exp(z_i.z_a / t) ),
/// averaged over the 2N anchors. With each example its own class (labels null) P(i) is just the
/// other view, and this is SimCLR's NT-Xent (Chen et al. 2020). The factor t / t_base of the
/// reference code is 1 here (t_base = t).
/// </summary>
public static class ContrastiveLoss
{
    /// <param name="view1">[N, D] vectors of the first view (normalised here).</param>
    /// <param name="view2">[N, D] vectors of the second view, row i the same example as row i of view1.</param>
    /// <param name="labels">[N] class indices, or null: each example is its own class (NT-Xent).</param>
    public static Tensor Compute(Tensor view1, Tensor view2, Tensor? labels, double temperature)
    {
        if (!(temperature > 0) || !double.IsFinite(temperature))
            throw new ProteaException($"temperature {temperature} must be a positive number", "temperature");
        using var scope = NewDisposeScope();
        var n = view1.shape[0];
        var z = nn.functional.normalize(cat([view1, view2], 0), p: 2, dim: 1);
        using var inverseT = (1 / temperature).ToScalar();
        var similarity = z.mm(z.t()).mul(inverseT);
        var self = eye(2 * n, dtype: @bool, device: z.device);
        using var minusInfinity = double.NegativeInfinity.ToScalar();
        var logits = similarity.masked_fill(self, minusInfinity);
        var logProbability = logits.sub(logits.logsumexp(1, keepdim: true));
        var ids = labels ?? arange(n, device: z.device);
        var both = cat([ids, ids], 0);
        var positive = both.unsqueeze(1).eq(both.unsqueeze(0)).logical_and(self.logical_not());
        var perAnchor = where(positive, logProbability, zeros_like(logProbability)).sum(1).div(positive.sum(1).to(z.dtype));
        return perAnchor.mean().neg().MoveToOuterDisposeScope();
    }
}

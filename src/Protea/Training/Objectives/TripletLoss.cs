using TorchSharp;
using static TorchSharp.torch;

namespace Protea.Training.Objectives;

/// <summary>How a triplet loss picks the negatives (and positives) of each anchor in a batch.</summary>
public enum TripletMining
{
    /// <summary>
    /// Batch-hard (Hermans et al. 2017, "In defense of the triplet loss"): per anchor, its farthest
    /// positive and its nearest negative; the loss is averaged over anchors that have both.
    /// </summary>
    BatchHard,

    /// <summary>
    /// Semi-hard (Schroff et al. 2015, FaceNet): per anchor-positive pair, the nearest negative that
    /// is farther than the positive; when there is none, the farthest negative (as TensorFlow
    /// Addons' triplet_semihard_loss). The loss is averaged over anchor-positive pairs.
    /// </summary>
    SemiHard,
}

/// <summary>
/// The triplet loss of FaceNet (Schroff et al. 2015, eq. 1) on a batch's embeddings:
/// max(0, d(a, p) - d(a, n) + margin), with d the squared Euclidean distance between L2-normalised
/// embeddings (so it lies in [0, 4]), triplets mined within the batch (<see cref="TripletMining"/>).
/// A batch with no valid triplet (one class, or no class with two items) gives a zero loss that
/// still depends on the embeddings, so backward works.
/// </summary>
public static class TripletLoss
{
    public const double DefaultMargin = 0.2;

    /// <param name="embeddings">[N, D] embeddings (normalised here).</param>
    /// <param name="labels">[N] class indices.</param>
    public static Tensor Compute(Tensor embeddings, Tensor labels, double margin, TripletMining mining)
    {
        RequireMargin(margin);
        using var scope = NewDisposeScope();
        var z = nn.functional.normalize(embeddings, p: 2, dim: 1);
        // Squared distances of unit vectors: 2 - 2 z_i.z_j, clamped at 0 against rounding.
        using var two = 2.ToScalar();
        using var zero = 0.ToScalar();
        var distance = z.mm(z.t()).mul(two).neg().add(two).clamp_min(zero);
        var n = z.shape[0];
        var same = labels.unsqueeze(1).eq(labels.unsqueeze(0));
        var self = eye(n, dtype: @bool, device: z.device);
        var positive = same.logical_and(self.logical_not());
        var negative = same.logical_not();
        using var m = margin.ToScalar();
        Tensor loss = mining == TripletMining.BatchHard ? BatchHard(distance, positive, negative, m) : SemiHard(distance, positive, negative, m);
        return loss.MoveToOuterDisposeScope();
    }

    public static void RequireMargin(double margin)
    {
        if (!(margin >= 0) || !double.IsFinite(margin))
            throw new ProteaException($"triplet margin {margin} must be a non-negative number", "margin");
    }

    private static Tensor BatchHard(Tensor distance, Tensor positive, Tensor negative, Scalar margin)
    {
        using var minusInfinity = double.NegativeInfinity.ToScalar();
        using var infinity = double.PositiveInfinity.ToScalar();
        var hardestPositive = distance.masked_fill(positive.logical_not(), minusInfinity).amax([1]);
        var hardestNegative = distance.masked_fill(negative.logical_not(), infinity).amin([1]);
        var valid = positive.any(1).logical_and(negative.any(1));
        if (!valid.any().item<bool>()) return distance.sum().mul(0.0.ToScalar());
        var terms = hardestPositive.index(valid).sub(hardestNegative.index(valid)).add(margin);
        return nn.functional.relu(terms).mean();
    }

    private static Tensor SemiHard(Tensor distance, Tensor positive, Tensor negative, Scalar margin)
    {
        using var infinity = double.PositiveInfinity.ToScalar();
        using var minusInfinity = double.NegativeInfinity.ToScalar();
        // [anchor, positive, negative]: negatives farther from the anchor than the positive.
        var dAp = distance.unsqueeze(2);
        var dAn = distance.unsqueeze(1);
        var isNegative = negative.unsqueeze(1);
        var farther = dAn.gt(dAp).logical_and(isNegative);
        var nearestFarther = dAn.expand_as(farther).masked_fill(farther.logical_not(), infinity).amin([2]);
        var farthest = distance.masked_fill(negative.logical_not(), minusInfinity).amax([1], keepdim: true).expand_as(nearestFarther);
        var chosen = where(farther.any(2), nearestFarther, farthest);
        var valid = positive.logical_and(negative.any(1, keepdim: true));
        if (!valid.any().item<bool>()) return distance.sum().mul(0.0.ToScalar());
        var terms = distance.index(valid).sub(chosen.index(valid)).add(margin);
        return nn.functional.relu(terms).mean();
    }
}

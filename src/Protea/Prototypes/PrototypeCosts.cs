using TorchSharp;
using static TorchSharp.torch;

namespace Protea.Prototypes;

/// <summary>
/// ProtoPNet's loss terms (Chen et al. 2019, eqs. 4-5, as the reference code computes them), on the
/// smallest distances [N, P] of each prototype to any patch of each image and a [N, P] mask that is 1
/// where prototype j belongs to image i's class.
/// </summary>
public static class PrototypeCosts
{
    /// <summary>
    /// Cluster cost: the mean over images of the distance to the nearest own-class prototype. As the
    /// reference, the minimum is taken as maxDist - max((maxDist - d) * mask) with maxDist = D, the
    /// largest squared distance between two points of [0, 1]^D.
    /// </summary>
    public static Tensor Cluster(Tensor minDistances, Tensor ownClassMask, double maxDistance)
    {
        using var scope = NewDisposeScope();
        using var max = maxDistance.ToScalar();
        var inverted = minDistances.neg().add(max).mul(ownClassMask).amax(1);
        return inverted.neg().add(max).mean().MoveToOuterDisposeScope();
    }

    /// <summary>Separation cost: the mean over images of the distance to the nearest prototype of another class (its coefficient is negative).</summary>
    public static Tensor Separation(Tensor minDistances, Tensor ownClassMask, double maxDistance)
    {
        using var scope = NewDisposeScope();
        using var one = 1.ToScalar();
        return Cluster(minDistances, ownClassMask.neg().add(one), maxDistance).MoveToOuterDisposeScope();
    }

    /// <summary>
    /// Orthogonality of each class's prototypes: the sum over classes of ||P_c P_c^T - I||_F^2 with the
    /// class's prototypes L2-normalised (as Deformable ProtoPNet, Donnelly et al. 2022), so that a
    /// class's prototypes point at different parts.
    /// </summary>
    public static Tensor Orthogonality(Tensor prototypes, IReadOnlyList<int> prototypeClasses)
    {
        using var scope = NewDisposeScope();
        var flat = nn.functional.normalize(prototypes.flatten(1), p: 2, dim: 1);
        var total = zeros(1, dtype: flat.dtype).squeeze();
        foreach (var group in prototypeClasses.Select((c, j) => (c, j)).GroupBy(x => x.c))
        {
            using var index = tensor(group.Select(x => (long)x.j).ToArray());
            var p = flat.index_select(0, index);
            var gram = matmul(p, p.T).sub(eye(p.shape[0], dtype: p.dtype));
            total = total.add(gram.pow(2).sum());
        }
        return total.MoveToOuterDisposeScope();
    }

    /// <summary>L1 norm of the last layer's connections from prototypes to the classes they do not belong to ([K, P] weight, [K, P] class identity).</summary>
    public static Tensor WrongClassL1(Tensor lastLayerWeight, Tensor classIdentity)
    {
        using var scope = NewDisposeScope();
        using var one = 1.ToScalar();
        return lastLayerWeight.mul(classIdentity.neg().add(one)).abs().sum().MoveToOuterDisposeScope();
    }
}

using static TorchSharp.torch;

namespace Protea.Discovery;

/// <summary>
/// The Ledoit-Wolf shrinkage of a covariance towards μ·I (μ = mean variance), as scikit-learn's
/// <c>ledoit_wolf_shrinkage</c> computes it for data that is already centred.
/// </summary>
public static class LedoitWolf
{
    /// <summary>The shrinkage in [0, 1] for centred rows <paramref name="x"/> [N, D] (float64).</summary>
    public static double Shrinkage(Tensor x)
    {
        using var scope = NewDisposeScope();
        double n = x.shape[0], p = x.shape[1];
        var x2 = x * x;
        var empCovTrace = x2.sum(dim: 0) / n;
        var mu = empCovTrace.sum().item<double>() / p;
        var betaSum = x2.t().matmul(x2).sum().item<double>();
        var gram = x.t().matmul(x);
        var deltaSum = (gram * gram).sum().item<double>() / (n * n);
        var beta = 1.0 / (p * n) * (betaSum / n - deltaSum);
        var delta = (deltaSum - 2 * mu * empCovTrace.sum().item<double>() + p * mu * mu) / p;
        beta = Math.Min(beta, delta);
        return beta == 0 ? 0 : beta / delta;
    }

    /// <summary>(1 − s)·Σ + s·μ·I for the empirical covariance Σ = XᵀX / N of centred rows.</summary>
    public static Tensor Covariance(Tensor x, double shrinkage)
    {
        using var scope = NewDisposeScope();
        var n = x.shape[0];
        var empirical = x.t().matmul(x) / n;
        var mu = empirical.trace().item<double>() / x.shape[1];
        var shrunk = (1 - shrinkage) * empirical + shrinkage * mu * eye(x.shape[1], dtype: x.dtype);
        return shrunk.MoveToOuterDisposeScope();
    }
}

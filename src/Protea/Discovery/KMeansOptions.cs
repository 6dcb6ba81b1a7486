namespace Protea.Discovery;

/// <summary>Settings of <see cref="SemiSupervisedKMeans"/>.</summary>
public sealed record KMeansOptions
{
    /// <summary>Independent runs from different k-means++ seeds; the one with the lowest inertia is kept.</summary>
    public int Restarts { get; init; } = 5;

    /// <summary>Lloyd iterations at most per run.</summary>
    public int MaxIterations { get; init; } = 100;

    /// <summary>
    /// A run stops when the summed squared centroid shift falls to this fraction of the mean per-feature
    /// variance (scikit-learn's tol), or when no assignment changed. 0: only the latter, or the iteration cap.
    /// </summary>
    public double Tolerance { get; init; } = 1e-4;

    public int Seed { get; init; }
}

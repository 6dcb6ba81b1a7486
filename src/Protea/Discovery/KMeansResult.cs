using static TorchSharp.torch;

namespace Protea.Discovery;

/// <summary>
/// A clustering of N items into K clusters: <see cref="Assignments"/>[i] is item i's cluster; clusters
/// 0..(known classes − 1) are the known classes' (their labelled items fixed there), the rest are new.
/// </summary>
/// <param name="Centroids">float32 [K, D], owned by the result.</param>
/// <param name="Inertia">Sum of squared distances of the items to their cluster's centroid.</param>
/// <param name="Iterations">Lloyd iterations of the kept run.</param>
public sealed record KMeansResult(int[] Assignments, Tensor Centroids, double Inertia, int Iterations) : IDisposable
{
    public int K => (int)Centroids.shape[0];

    public void Dispose() => Centroids.Dispose();
}

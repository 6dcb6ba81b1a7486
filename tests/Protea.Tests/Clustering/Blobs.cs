using static TorchSharp.torch;

namespace Protea.Tests.Clustering;

/// <summary>Seeded isotropic Gaussian blobs: centres spread <c>separation</c> apart per dimension, unit spread.</summary>
internal static class Blobs
{
    public static (Tensor X, int[] Truth) Make(int blobs, int perBlob, int dim, double separation, int seed)
    {
        var random = new Random(seed);
        var centres = Enumerable.Range(0, blobs).Select(_ => Enumerable.Range(0, dim).Select(_ => (random.NextDouble() * 2 - 1) * separation).ToArray()).ToArray();
        var truth = new int[blobs * perBlob];
        var data = new float[blobs * perBlob * dim];
        for (var i = 0; i < truth.Length; i++)
        {
            truth[i] = i % blobs;
            for (var d = 0; d < dim; d++)
            {
                var g = Math.Sqrt(-2 * Math.Log(1 - random.NextDouble())) * Math.Cos(2 * Math.PI * random.NextDouble());
                data[i * dim + d] = (float)(centres[truth[i]][d] + g);
            }
        }
        return (tensor(data, [truth.Length, dim]), truth);
    }

    /// <summary>Labels for clustering: items of classes below <paramref name="known"/> labelled with the given share (seeded), others −1.</summary>
    public static long[] Labelled(int[] truth, int known, double share, int seed)
    {
        var random = new Random(seed);
        return truth.Select(t => t < known && random.NextDouble() < share ? (long)t : -1L).ToArray();
    }
}

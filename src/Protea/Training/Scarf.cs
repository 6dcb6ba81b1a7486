using TorchSharp;
using static TorchSharp.torch;

namespace Protea.Training;

/// <summary>
/// SCARF's random feature corruption (Bahri et al. 2022) for tabular views: each feature of each
/// row is, with probability <c>rate</c>, replaced by the same feature of a random row of the batch,
/// i.e. a draw from that feature's empirical marginal.
/// </summary>
public static class Scarf
{
    public const double DefaultRate = 0.6;

    /// <param name="x">[N, D] features (raw or normalised: per-feature scaling commutes with the draw).</param>
    public static Tensor Corrupt(Tensor x, double rate, Generator generator)
    {
        if (!(rate is >= 0 and <= 1))
            throw new ProteaException($"corruption rate {rate} must be between 0 and 1", "corruption_rate");
        using var scope = NewDisposeScope();
        long n = x.shape[0], d = x.shape[1];
        using var r = rate.ToScalar();
        var mask = rand([n, d], generator: generator, device: x.device).lt(r);
        var rows = randint(0, n, [n, d], generator: generator, device: x.device);
        var drawn = x.gather(0, rows);
        return where(mask, drawn, x).MoveToOuterDisposeScope();
    }
}

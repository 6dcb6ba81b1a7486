using Protea.Models;
using TorchSharp;
using static TorchSharp.torch;

namespace Protea.Prototypes;

/// <summary>
/// ProtoPNet's last-layer stage: with everything before it fixed, the last layer [K, P] alone learns
/// by cross-entropy plus L1 on the wrong-class connections. Since nothing before it changes, the
/// similarities of the training set are computed once and the layer trains on them (Adam, seeded
/// shuffling), which makes the stage cheap.
/// </summary>
public static class LastLayerTuning
{
    public const double LearningRate = 1e-3;
    public const int BatchSize = 128;

    /// <summary>Returns the tuned weight [K, P] (a new tensor); <paramref name="initial"/> is left as it is.</summary>
    public static Tensor Tune(Tensor minDistances, long[] labels, Tensor initial, Tensor classIdentity, double l1, int epochs, int seed)
    {
        using var no = no_grad();
        if (epochs == 0) return initial.detach().clone();
        var weight = new TorchSharp.Modules.Parameter(initial.detach().clone());
        using var similarities = PartsHead.Similarity(minDistances);
        using var y = tensor(labels);
        using var optimizer = optim.Adam([weight], lr: LearningRate);
        using var generator = new Generator((ulong)seed);
        using var l1Scalar = l1.ToScalar();
        var n = similarities.shape[0];
        for (var epoch = 0; epoch < epochs; epoch++)
        {
            using var order = randperm(n, generator: generator);
            for (long start = 0; start < n; start += BatchSize)
            {
                using var scope = NewDisposeScope();
                using var grad = enable_grad();
                var index = order.narrow(0, start, Math.Min(BatchSize, n - start));
                var logits = nn.functional.linear(similarities.index_select(0, index), weight);
                var loss = nn.functional.cross_entropy(logits, y.index_select(0, index))
                    .add(PrototypeCosts.WrongClassL1(weight, classIdentity).mul(l1Scalar));
                optimizer.zero_grad();
                loss.backward();
                optimizer.step();
            }
        }
        var result = weight.detach().clone();
        weight.Dispose();
        return result;
    }
}

using TorchSharp;
using static TorchSharp.torch;

namespace Protea.Training.Sampling;

/// <summary>
/// Decides which training examples form each batch of an epoch. Draws come from the epoch's
/// generator, which the trainer seeds from (seed, epoch) alone, so a resumed run sees the same
/// batches as an uninterrupted one. A class-balanced P x K sampler (P classes, K examples each,
/// for metric learning) is the next one.
/// </summary>
public interface IBatchSampler
{
    /// <summary>Batches per epoch over <paramref name="count"/> examples (the schedule needs the run's step count up front).</summary>
    int BatchCount(int count, int batchSize);

    /// <summary>The epoch's batches, as int64 index tensors into the training examples; the caller disposes them.</summary>
    IReadOnlyList<Tensor> Epoch(IReadOnlyList<long> labels, int batchSize, Generator generator);
}

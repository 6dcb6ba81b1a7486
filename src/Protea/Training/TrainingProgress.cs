using Protea.Evaluation;

namespace Protea.Training;

/// <summary>
/// A progress event: during an epoch (Completed is null) with the running loss, or at its end with
/// the finished <see cref="EpochRecord"/>. Remaining is the estimated time to the end of the run.
/// </summary>
public sealed record TrainingProgress(
    int Epoch, int Epochs, int Batch, int Batches, double RunningLoss,
    TimeSpan Elapsed, TimeSpan? Remaining, EpochRecord? Completed = null);

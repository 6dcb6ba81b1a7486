namespace Protea.Evaluation;

/// <summary>
/// What one training epoch produced; the trainer writes one per epoch and the report plots them.
/// Validation values are null when the run has no validation data. PeakMemoryMb is the process's
/// peak resident set size at the end of the epoch, which shows whether memory stays flat.
/// </summary>
public sealed record EpochRecord(
    int Epoch,
    double TrainLoss,
    double TrainAccuracy,
    double? ValidationLoss,
    double? ValidationAccuracy,
    double LearningRate,
    double Seconds,
    double? PeakMemoryMb = null);

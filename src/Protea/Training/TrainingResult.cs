using Protea.Evaluation;
using Protea.Models;

namespace Protea.Training;

/// <summary>
/// What a training run produced: the model, its per-epoch history and throughput, and the final
/// model's logits on the validation data when the last epoch's validation pass computed them.
/// </summary>
public sealed record TrainingResult(ModelBundle Bundle, IReadOnlyList<EpochRecord> Epochs, double TrainSeconds, double ExamplesPerSecond,
    float[]? FinalValidationLogits = null)
{
    /// <summary>The epoch (1-based) whose weights the model holds: the best one by validation, or the last.</summary>
    public int? KeptEpoch { get; init; }

    /// <summary>Why that epoch: "best validation accuracy" or "last epoch".</summary>
    public string KeptBy { get; init; } = "last epoch";

    /// <summary>Whether BatchNorm statistics were re-estimated on the training data after training.</summary>
    public bool BatchNormRecalibrated { get; init; }
}

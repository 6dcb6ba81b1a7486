using Protea.Evaluation;
using Protea.Models;

namespace Protea.Training;

/// <summary>
/// What a training run produced: the model, its per-epoch history and throughput, and the final
/// model's logits on the validation data when the last epoch's validation pass computed them.
/// </summary>
public sealed record TrainingResult(ModelBundle Bundle, IReadOnlyList<EpochRecord> Epochs, double TrainSeconds, double ExamplesPerSecond,
    float[]? FinalValidationLogits = null);

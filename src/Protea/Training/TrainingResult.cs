using Protea.Evaluation;
using Protea.Models;

namespace Protea.Training;

/// <summary>What a training run produced: the model, its per-epoch history and throughput.</summary>
public sealed record TrainingResult(ModelBundle Bundle, IReadOnlyList<EpochRecord> Epochs, double TrainSeconds, double ExamplesPerSecond);

namespace Protea.Evaluation;

/// <summary>One epoch of a training run, as the trainer reports it and the curves plot draws it.</summary>
public sealed record EpochRecord(int Epoch, double TrainLoss, double TrainAccuracy, double? ValidationLoss, double? ValidationAccuracy, double LearningRate, double Seconds);

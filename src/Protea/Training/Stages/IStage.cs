using Protea.Evaluation;

namespace Protea.Training.Stages;

/// <summary>
/// A hook around the training loop for what a head or a method does besides gradient steps:
/// NCM fits its class means after training (<see cref="FittedHeadStage"/>); ProtoPNet's push and
/// last-layer fine-tuning, or an incremental learner growing its head, are stages too.
/// </summary>
/// <remarks>
/// BeforeTraining runs before the optimizer is built (and again, identically, on resume, before the
/// checkpoint is loaded), so it may replace <see cref="StageContext.Model"/> (e.g. swap the head).
/// AfterEpoch may change weights in place but not replace the model. AfterTraining may replace it:
/// what it leaves in <see cref="StageContext.Model"/> is the model the run returns.
/// </remarks>
public interface IStage
{
    void BeforeTraining(StageContext context) { }

    /// <summary>Before epoch <paramref name="epoch"/> (0-based), after the optimizer is built: may freeze or unfreeze parameters (requires_grad), as a warm-up does.</summary>
    void BeforeEpoch(StageContext context, int epoch) { }

    void AfterEpoch(StageContext context, EpochRecord epoch) { }

    void AfterTraining(StageContext context) { }
}

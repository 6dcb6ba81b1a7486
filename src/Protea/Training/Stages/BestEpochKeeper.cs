using Protea.Evaluation;
using TorchSharp;
using static TorchSharp.torch;

namespace Protea.Training.Stages;

/// <summary>
/// Keeps a copy of the weights of the best epoch so far and puts them back after training, so that a
/// run whose last epochs got worse (a late spike of the loss, over-fitting on little data) ends with
/// its best model. The trainer runs it only when held-out validation data steers the run.
/// </summary>
/// <remarks>
/// Best means the highest validation accuracy; between equal accuracies the lower validation loss,
/// then the earlier epoch. The copy (weights and BatchNorm statistics) lives in memory and, when the
/// run has a checkpoint, beside it on disk, so a resumed run still chooses among every epoch (<see cref="Resume"/>).
/// </remarks>
public sealed class BestEpochKeeper(Checkpoint? checkpoint = null) : IStage, IDisposable
{
    private Dictionary<string, Tensor>? best;
    private double bestAccuracy = double.NegativeInfinity, bestLoss = double.PositiveInfinity;
    private int lastEpoch;

    /// <summary>The epoch (1-based) whose weights the model holds after training; null before any epoch with validation.</summary>
    public int? KeptEpoch { get; private set; }

    /// <summary>Whether training ended on weights other than the last epoch's.</summary>
    public bool Restored => KeptEpoch is { } kept && kept != lastEpoch;

    public static bool IsBetter(double accuracy, double loss, double bestAccuracy, double bestLoss) =>
        accuracy > bestAccuracy || (accuracy == bestAccuracy && loss < bestLoss);

    public void AfterEpoch(StageContext context, EpochRecord epoch)
    {
        lastEpoch = epoch.Epoch;
        if (epoch.ValidationAccuracy is not { } accuracy) return;
        var loss = epoch.ValidationLoss ?? double.PositiveInfinity;
        if (!IsBetter(accuracy, loss, bestAccuracy, bestLoss)) return;
        (bestAccuracy, bestLoss, KeptEpoch) = (accuracy, loss, epoch.Epoch);
        using var _ = no_grad();
        if (best is null)
            best = context.Model.state_dict().ToDictionary(kv => kv.Key, kv => kv.Value.detach().clone().DetachFromDisposeScope());
        else
            foreach (var (name, tensor) in context.Model.state_dict())
                best[name].copy_(tensor);
        checkpoint?.SaveBest(best);
    }

    /// <summary>
    /// Picks up where an interrupted run left off: the best of the epochs in <paramref name="history"/>
    /// (by the same rule) and its weights from the checkpoint. A checkpoint without them (no epoch had
    /// validation) leaves the keeper empty.
    /// </summary>
    public void Resume(IReadOnlyList<EpochRecord> history)
    {
        if (checkpoint?.LoadBest() is not { } weights) return;
        foreach (var epoch in history)
            if (epoch.ValidationAccuracy is { } accuracy && IsBetter(accuracy, epoch.ValidationLoss ?? double.PositiveInfinity, bestAccuracy, bestLoss))
                (bestAccuracy, bestLoss, KeptEpoch) = (accuracy, epoch.ValidationLoss ?? double.PositiveInfinity, epoch.Epoch);
        Dispose();
        best = weights;
        lastEpoch = history.Count > 0 ? history[^1].Epoch : 0;
    }

    public void AfterTraining(StageContext context)
    {
        if (!Restored || best is null) return;
        using var _ = no_grad();
        foreach (var (name, tensor) in context.Model.state_dict())
            tensor.copy_(best[name]);
    }

    public void Dispose()
    {
        if (best is null) return;
        foreach (var t in best.Values) t.Dispose();
        best = null;
    }
}

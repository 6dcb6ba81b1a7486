namespace Protea.Training;

/// <summary>
/// Watches the training loss step by step and stops a run whose loss has exploded, not only one whose
/// loss is NaN or infinite, with a message that names the learning rate and the fix.
/// </summary>
/// <remarks>
/// The rule: the reference is the larger of the first step's loss (the loss of the network before any
/// update) and ln(classes) (the cross-entropy of a uniform guess, so that a run starting from a good
/// model is not stopped by an ordinary bump); the run has diverged when a loss is not finite, or when
/// the mean of the last <see cref="Window"/> steps, or an epoch's mean, exceeds <see cref="Factor"/>
/// times the reference. A network that trains is not three times as wrong as an untrained one for 20 steps in a row, nor
/// over an epoch (a run at too high a rate that recovers stays below that);
/// an exploding one (the loss of a too-high learning rate on little data goes from 2.3 to 6 and then
/// to thousands) is. The guard keeps what it saw (<see cref="Tripped"/>), so a host can restart the run
/// at a lower rate; it is reset by <see cref="Reset"/>.
/// </remarks>
public sealed class DivergenceGuard
{
    public const int Window = 20;
    public const double Factor = 3.0;

    private readonly Queue<double> recent = new();
    private double recentSum, first = double.NaN;

    /// <summary>What tripped the guard (null while the loss behaves).</summary>
    public sealed record Divergence(int Epoch, long Step, double Loss, double Reference, double LearningRate, double PeakLearningRate);

    public Divergence? Tripped { get; private set; }

    /// <summary>The loss the rule compares against: the first step's, at least ln(classes); NaN before the first step.</summary>
    private double Reference(int classes) => double.IsNaN(first) ? double.NaN : Math.Max(first, Math.Log(Math.Max(2, classes)));

    public void Reset()
    {
        recent.Clear();
        recentSum = 0;
        first = double.NaN;
        Tripped = null;
    }

    /// <summary>One optimiser step's loss (epoch 0-based); throws <see cref="ProteaException"/> when the run has diverged.</summary>
    public void Step(double loss, int epoch, long step, int classes, double learningRate, double peakLearningRate)
    {
        if (!double.IsFinite(loss))
            Fail(new Divergence(epoch, step, loss, Reference(classes), learningRate, peakLearningRate));
        if (double.IsNaN(first)) first = loss;
        recent.Enqueue(loss);
        recentSum += loss;
        if (recent.Count > Window) recentSum -= recent.Dequeue();
        if (recent.Count < Window) return;
        var reference = Reference(classes);
        var mean = recentSum / recent.Count;
        if (mean > Factor * reference)
            Fail(new Divergence(epoch, step, mean, reference, learningRate, peakLearningRate));
    }

    /// <summary>An epoch's mean training loss (epoch 0-based); throws when it is not finite or exceeds the rule's bound.</summary>
    public void EpochEnd(double meanLoss, int epoch, long step, int classes, double learningRate, double peakLearningRate)
    {
        var reference = Reference(classes);
        if (!double.IsFinite(meanLoss) || meanLoss > Factor * reference)
            Fail(new Divergence(epoch, step, meanLoss, reference, learningRate, peakLearningRate));
    }

    private void Fail(Divergence d)
    {
        Tripped = d;
        throw new ProteaException(Message(d), "learning_rate");
    }

    /// <summary>The one-line message: where, how far, at which learning rate, and what to do.</summary>
    public static string Message(Divergence d)
    {
        var what = double.IsFinite(d.Loss)
            ? $"the training loss rose to {d.Loss:G4}, more than {Factor:0.#} times its starting value {d.Reference:G4}"
            : $"the training loss is {d.Loss}";
        return $"training diverged in epoch {d.Epoch + 1} (step {d.Step + 1}): {what} at learning rate {d.LearningRate:G3} " +
            $"(peak {d.PeakLearningRate:G3}); lower the peak learning rate (try {d.PeakLearningRate / 10:G3}, or find one with a range test), " +
            "or check the input data for extreme values";
    }
}

using System.Diagnostics;
using Protea.Data;
using Protea.Training.Sampling;
using static TorchSharp.torch;

namespace Protea.Training;

/// <summary>
/// The learning-rate range test (Smith 2017, as in fastai's lr_find): a fresh network from the options
/// trains for at most <see cref="MaxSteps"/> batches (or <see cref="MaxSeconds"/>) while the learning
/// rate grows exponentially from <see cref="MinLearningRate"/> to <see cref="MaxLearningRate"/>; the
/// loss is smoothed (exponential moving average, bias-corrected) and the sweep stops once the smoothed
/// loss exceeds <see cref="DivergenceFactor"/> times the best so far. The suggestion is the learning
/// rate where the smoothed loss falls fastest against log(lr) (fastai's "steep"), looked for before the
/// loss's minimum; when the curve never falls, the lr of the minimum over 10.
/// </summary>
/// <remarks>
/// Uses the trainer's pieces: the network, normalisation, optimiser and parameter groups are the
/// ones <see cref="Trainer"/> would build from the same options; the momentum is held at the options'
/// value, there is no schedule, augmentation or mixing, and the loss is plain cross-entropy.
/// </remarks>
public sealed class LearningRateFinder(TrainOptions options)
{
    public double MinLearningRate { get; init; } = 1e-6;
    public double MaxLearningRate { get; init; } = 10;
    public int MaxSteps { get; init; } = 100;
    public double MaxSeconds { get; init; } = 60;
    public double Smoothing { get; init; } = 0.98;
    public double DivergenceFactor { get; init; } = 4;

    public sealed record Point(double LearningRate, double Loss, double SmoothedLoss);

    /// <param name="Suggestion">The suggested peak learning rate.</param>
    /// <param name="Method">"steepest" (fastest fall of the smoothed loss) or "minimum/10".</param>
    /// <param name="Stopped">"diverged", "steps" (all steps ran) or "time".</param>
    public sealed record Result(double Suggestion, string Method, double MinimumLossLearningRate, string Stopped,
        int BatchSize, string Optimizer, IReadOnlyList<Point> Curve, double Seconds);

    public TrainOptions Options { get; } = options;

    public Result Find(Dataset train)
    {
        var o = Options;
        if (!(MinLearningRate > 0 && MaxLearningRate > MinLearningRate))
            throw new ProteaException($"the learning-rate sweep must rise from a positive value, not {MinLearningRate} -> {MaxLearningRate}", "learning_rate");
        if (MaxSteps < 5) throw new ProteaException($"a learning-rate sweep needs at least 5 steps, not {MaxSteps}", "steps");
        Trainer.Validate(o, train);
        using var labelled = Trainer.LabelledOnly(train);
        var (fresh, description) = Trainer.Fresh(o, labelled);
        using var model = fresh;
        var normalization = description.Normalization;
        var groups = ParameterGroup.Assign(model, [], o);
        using var optimizer = Trainer.CreateOptimizer(o, groups);
        using var labels = tensor(labelled.Labels);
        var sampler = new RandomBatchSampler();
        using var generator = new Generator((ulong)(o.Seed * 7919L + 17));

        var watch = Stopwatch.StartNew();
        var curve = new List<Point>();
        double average = 0, best = double.PositiveInfinity;
        var stopped = "steps";
        IReadOnlyList<Tensor> plan = [];
        var next = 0;
        model.train();
        try
        {
            for (var step = 0; step < MaxSteps; step++)
            {
                if (watch.Elapsed.TotalSeconds > MaxSeconds) { stopped = "time"; break; }
                if (next == plan.Count)
                {
                    foreach (var t in plan) t.Dispose();
                    plan = sampler.Epoch(labelled.Labels, o.BatchSize, generator);
                    next = 0;
                }
                var lr = MinLearningRate * Math.Pow(MaxLearningRate / MinLearningRate, step / (MaxSteps - 1.0));
                double loss;
                using (var scope = NewDisposeScope())
                {
                    var index = plan[next++];
                    var x = normalization.Apply(labelled.Gather(index));
                    var y = labels.index_select(0, index);
                    var value = nn.functional.cross_entropy(model.forward(x), y);
                    optimizer.ZeroGrad();
                    value.backward();
                    optimizer.Step(lr, o.Momentum);
                    loss = value.item<float>();
                }
                average = Smoothing * average + (1 - Smoothing) * (double.IsFinite(loss) ? loss : double.MaxValue / 4);
                var smoothed = average / (1 - Math.Pow(Smoothing, step + 1));
                curve.Add(new Point(lr, loss, smoothed));
                if (!double.IsFinite(loss) || (step > 0 && smoothed > DivergenceFactor * best)) { stopped = "diverged"; break; }
                best = Math.Min(best, smoothed);
            }
        }
        finally
        {
            foreach (var t in plan) t.Dispose();
        }
        var (suggestion, method, atMinimum) = Suggest(curve);
        return new Result(suggestion, method, atMinimum, stopped, o.BatchSize, o.Optimizer, curve, watch.Elapsed.TotalSeconds);
    }

    /// <summary>
    /// The lr of the steepest fall of the smoothed loss against log(lr) (central differences two points
    /// apart), searched between the first tenth of the curve and the minimum of the smoothed loss; the
    /// minimum's lr / 10 when there is no falling stretch to search.
    /// </summary>
    public static (double Suggestion, string Method, double MinimumLossLearningRate) Suggest(IReadOnlyList<Point> curve)
    {
        if (curve.Count == 0) throw new ArgumentException("the sweep has no points", nameof(curve));
        var finite = curve.Where(p => double.IsFinite(p.SmoothedLoss)).ToList();
        var minimum = finite.Count == 0 ? 0 : Enumerable.Range(0, finite.Count).MinBy(i => finite[i].SmoothedLoss);
        var atMinimum = finite.Count == 0 ? curve[0].LearningRate : finite[minimum].LearningRate;
        const int k = 2;
        var start = Math.Max(k, finite.Count / 10);
        int? steepest = null;
        var slope = 0.0;
        for (var i = start; i <= minimum && i + k < finite.Count; i++)
        {
            var g = (finite[i + k].SmoothedLoss - finite[i - k].SmoothedLoss) / Math.Log(finite[i + k].LearningRate / finite[i - k].LearningRate);
            if (g < slope) (slope, steepest) = (g, i);
        }
        return steepest is { } s ? (finite[s].LearningRate, "steepest", atMinimum) : (atMinimum / 10, "minimum/10", atMinimum);
    }
}

using System.Diagnostics;
using System.Text.Json;
using Protea.Data;
using Protea.Evaluation;
using Protea.IO;
using Protea.Models;
using Protea.Reports;
using Protea.Training;
using TorchSharp;

namespace Protea.Runs;

/// <summary>
/// A whole training run as `protea train` and `protea quickstart` perform it: read the data, hold out
/// a seeded validation split, train (with checkpoints), evaluate on the data's own test set (or the
/// validation split when there is none) and write the run folder: model.safetensors, model.json,
/// metrics.json, confusion.png, curves.png and report.md. A facade above Training, Deploy and Reports.
/// </summary>
/// <remarks>
/// This is where a run sets torch's process-wide state, once, as its host: the thread count, and the
/// global generator's seed, from which TorchSharp's layers draw a fresh network's initial weights
/// (they take no generator). The trainer itself draws everything else from its own generators.
/// </remarks>
public static class TrainingRun
{
    public const string MetricsFile = "metrics.json";
    public const string ConfusionFile = "confusion.png";
    public const string CurvesFile = "curves.png";
    public const string ReportFile = "report.md";

    public sealed record Result(
        string OutDir, string DataSource, string EvaluatedOn, EvaluationReport Metrics,
        IReadOnlyList<EpochRecord> Epochs, double TrainSeconds, double TrainExamplesPerSecond, double WallSeconds,
        int TrainCount, int ValidationCount, int TestCount)
    {
        /// <summary>The epoch (1-based) whose weights were saved, and why (best validation accuracy or last epoch).</summary>
        public int? KeptEpoch { get; init; }

        public string KeptBy { get; init; } = "last epoch";

        public bool BatchNormRecalibrated { get; init; }

        /// <summary>The divergence that made the run restart at a lower learning rate, or null.</summary>
        public string? Restarted { get; init; }

        /// <summary>A parts model's prototypes after push and hygiene (how many remain per class), or null for other heads.</summary>
        public string? PrototypesPerClass { get; init; }
    }

    /// <summary>A diverged run restarts once (same seed, from scratch) at this fraction of its peak learning rate.</summary>
    public const double RestartLearningRateFactor = 0.1;

    /// <summary>
    /// The default unknown scorer (energy, which needs no statistics), its threshold set at 95 % TPR on
    /// the validation split's logits, saved into the run folder's model.json; `protea calibrate-unknown`
    /// replaces it with another scorer.
    /// </summary>
    private static void CalibrateUnknown(string outDir, float[] validationLogits, int count, int numClasses)
    {
        var scorer = new Discovery.EnergyScorer();
        var scores = scorer.Score(new Deploy.InferenceOutput(count, numClasses, 0, validationLogits, []));
        new Discovery.UnknownDetector(scorer, Discovery.UnknownDetector.ThresholdAt(scores)).Save(outDir, "validation split");
    }

    /// <param name="choose">
    /// Called once the training split is known (after --limit and the validation hold-out), to choose
    /// the options that depend on the data (the auto recipe, <see cref="AutoRecipe"/>); it must keep the
    /// thread count, limit, validation fraction and seed it was given. Null: the options as they are.
    /// </param>
    /// <param name="objectives">The loss terms (a distilled student's); null: the options' objective list.</param>
    /// <param name="normalization">A fresh network's input normalisation (a teacher's); null: fitted to the training split.</param>
    /// <param name="restartOnDivergence">
    /// When the loss explodes (<see cref="DivergenceGuard"/>), start the run once more from scratch with the
    /// same seed at a tenth of the peak learning rate (what the auto recipe does), telling <paramref name="notice"/>;
    /// false: the divergence is the run's error.
    /// </param>
    /// <param name="notice">Receives one-line messages about what the run decided (a restart), or null.</param>
    public static Result Execute(DataSpec spec, TrainOptions options, string outDir, bool resume = false,
        IProgress<TrainingProgress>? progress = null, CancellationToken cancellation = default, Func<Dataset, TrainOptions>? choose = null,
        IReadOnlyList<Training.Objectives.IObjective>? objectives = null, InputNormalization? normalization = null,
        bool restartOnDivergence = false, Action<string>? notice = null)
    {
        var wall = Stopwatch.StartNew();
        if (options.Threads < 1) throw new ProteaException($"the thread count must be at least 1, not {options.Threads}", "threads");
        if (options.Init is not null) PretrainedWeights.RequireSupported(options.Architecture);
        // A mistyped objective is refused before any data is read (objectives are only built, not attached, here).
        if (objectives is null)
            Training.Objectives.ObjectiveList.Parse(options.Objective, options.Temperature, options.LabelSmoothing, options.Margin);
        using var splits = spec.Load();
        using var pool = options.Limit is { } limit ? splits.Train.Sample(limit, options.Seed) : null;
        var all = pool ?? splits.Train;
        var fraction = options.ValidationFraction ?? (splits.Test is null ? TrainOptions.DefaultValidationFraction : 0);
        var (train, heldOut) = fraction > 0
            ? TrainValidationSplit.Split(all, fraction, options.Seed)
            : (all, null);
        // With no held-out split, a data set that has its own test set is monitored on it each epoch
        // (the curves then show test accuracy, and when it passed a target); it never steers training.
        var validation = heldOut ?? splits.Test;
        try
        {
            torch.set_num_threads(options.Threads);
            if (choose is not null)
                options = choose(train);
            string? restarted = null;
            TrainingResult training;
            DivergenceGuard? guard = null;
            try
            {
                training = NewTrainer(options, progress, heldOut is not null, objectives, normalization, out guard).Train(train, validation, outDir, resume, cancellation);
            }
            catch (ProteaException e) when (restartOnDivergence && guard?.Tripped is { } diverged)
            {
                var lower = options.LearningRate * RestartLearningRateFactor;
                restarted = $"{e.Message}; restarted from scratch at peak learning rate {lower:G3}";
                notice?.Invoke($"training diverged at learning rate {diverged.LearningRate:G3} (peak {options.LearningRate:G3}) in epoch {diverged.Epoch + 1}: " +
                    $"restarting from scratch, same seed, at peak learning rate {lower:G3}");
                options = options with { LearningRate = lower };
                training = NewTrainer(options, progress, heldOut is not null, objectives, normalization, out _).Train(train, validation, outDir, resume: false, cancellation);
            }
            using var bundle = training.Bundle;
            var (evalSet, evaluatedOn) = splits.Test is { Count: > 0 } test ? (test, "test")
                : heldOut is { Count: > 0 } ? (heldOut, "validation")
                : (train, "train");
            var logits = ReferenceEquals(evalSet, validation) && training.FinalValidationLogits is { } scored
                ? scored
                : ClassifierInference.Logits(bundle.Model, bundle.Description.Normalization, evalSet);
            var metrics = ClassificationMetrics.Evaluate(logits, evalSet.Labels, evalSet.ClassNames);

            var described = bundle.Description with
            {
                FeatureNames = splits.FeatureNames,
                LabelColumn = splits.LabelColumn,
                Categorical = splits.Categorical,
                TrainedOn = TrainingPlatform.Current(ConvLayoutGuard.Current),
                Metrics = new Dictionary<string, double>
                {
                    [$"{evaluatedOn}_accuracy"] = metrics.Accuracy,
                    [$"{evaluatedOn}_top5_accuracy"] = metrics.Top5Accuracy,
                    [$"{evaluatedOn}_ece"] = metrics.Ece,
                    [$"{evaluatedOn}_macro_f1"] = metrics.MacroF1,
                    ["train_seconds"] = training.TrainSeconds,
                    ["kept_epoch"] = training.KeptEpoch ?? 0,
                },
            };
            new ModelBundle(described, bundle.Model).Save(outDir);
            if (heldOut is { Count: > 0 })
                CalibrateUnknown(outDir, ReferenceEquals(evalSet, heldOut) ? logits
                    : ClassifierInference.Logits(bundle.Model, bundle.Description.Normalization, heldOut), heldOut.Count, described.NumClasses);
            if (options.KeepIndex)
                Search.NearestTrainingEvidence.Keep(outDir, train, spec, options.Threads, cancellation);
            var result = new Result(outDir, spec.ToString(), evaluatedOn, metrics, training.Epochs, training.TrainSeconds,
                training.ExamplesPerSecond, wall.Elapsed.TotalSeconds, train.Count, heldOut?.Count ?? 0, splits.Test?.Count ?? 0)
            {
                KeptEpoch = training.KeptEpoch, KeptBy = training.KeptBy, BatchNormRecalibrated = training.BatchNormRecalibrated, Restarted = restarted,
                PrototypesPerClass = (bundle.Model.Head as Models.PartsHead)?.Summary?.PerClassLine(described.ClassNames),
            };
            WriteOutputs(result, options, described.TrainedOn, monitored: heldOut is not null ? "validation" : "test");
            return result;
        }
        finally
        {
            if (!ReferenceEquals(train, all)) train.Dispose();
            heldOut?.Dispose();
        }
    }

    /// <summary>A trainer seeded as a fresh run is (torch's global generator), its divergence guard kept for the restart decision.</summary>
    private static Trainer NewTrainer(TrainOptions options, IProgress<TrainingProgress>? progress, bool validationSteers,
        IReadOnlyList<Training.Objectives.IObjective>? objectives, InputNormalization? normalization, out DivergenceGuard guard)
    {
        torch.manual_seed(options.Seed);
        guard = new DivergenceGuard();
        return new Trainer(options, progress)
        {
            Validation = new OnnxValidationScorer(options.Threads), Divergence = guard, ValidationSteers = validationSteers,
            Objectives = objectives, Normalization = normalization,
        };
    }

    private static void WriteOutputs(Result r, TrainOptions options, TrainingPlatform platform, string monitored)
    {
        AtomicFile.WriteAllText(Path.Combine(r.OutDir, MetricsFile), JsonSerializer.Serialize(r, ProteaJson.Options));
        ConfusionPlot.Save(Path.Combine(r.OutDir, ConfusionFile), r.Metrics.Confusion, r.Metrics.PerClass.Select(c => c.Class).ToList());
        TrainingCurvesPlot.Save(Path.Combine(r.OutDir, CurvesFile), r.Epochs, monitored: monitored);
        RunReport.Write(Path.Combine(r.OutDir, ReportFile), new RunSummary
        {
            Architecture = options.Architecture,
            Head = options.Head,
            DataSource = r.DataSource,
            Epochs = r.Epochs.Count,
            WallSeconds = r.WallSeconds,
            Metrics = r.Metrics,
            EpochRecords = r.Epochs,
            Details =
            [
                new("evaluated on", $"{r.EvaluatedOn} split ({r.Metrics.Count:N0} examples)"),
                new("training examples", $"{r.TrainCount:N0} (+{r.ValidationCount:N0} validation)"),
                new("training throughput", $"{r.TrainExamplesPerSecond:N0} examples/s"),
                new("recipe", $"{options.Optimizer}, lr {options.LearningRate}, {options.Schedule}, batch {options.BatchSize}, seed {options.Seed}, {options.Threads} threads"
                    + (FineTuning.BackboneScale(options) is { } scale ? $", backbone lr {scale:G3} x the head's" : "")),
                new("weights kept", r.KeptEpoch is { } kept ? $"epoch {kept} of {r.Epochs.Count} ({r.KeptBy})" : "none"),
                new("BatchNorm statistics", r.BatchNormRecalibrated ? "re-estimated on the training data after training" : "as trained"),
                .. r.Restarted is { } why ? [new KeyValuePair<string, string>("restarted", why)] : Array.Empty<KeyValuePair<string, string>>(),
                new("trained on", platform.Cpu),
                new("convolutions in NCHW", platform.ConvNchwFallbacks.Count == 0
                    ? "none for correctness (channels-last verified for every convolution)"
                    : "channels-last wrong on this CPU: " + string.Join("; ", platform.ConvNchwFallbacks)),
                new("convolutions in NCHW for speed", platform.ConvNchwForSpeed.Count == 0 ? "none" : string.Join("; ", platform.ConvNchwForSpeed)),
                .. r.PrototypesPerClass is { } prototypes ? [new KeyValuePair<string, string>("prototypes per class", prototypes)] : Array.Empty<KeyValuePair<string, string>>(),
            ],
        });
    }
}

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
        int TrainCount, int ValidationCount, int TestCount);

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
    public static Result Execute(DataSpec spec, TrainOptions options, string outDir, bool resume = false,
        IProgress<TrainingProgress>? progress = null, CancellationToken cancellation = default, Func<Dataset, TrainOptions>? choose = null)
    {
        var wall = Stopwatch.StartNew();
        if (options.Threads < 1) throw new ProteaException($"the thread count must be at least 1, not {options.Threads}", "threads");
        if (options.Init is not null) PretrainedWeights.RequireSupported(options.Architecture);
        // A mistyped objective is refused before any data is read (objectives are only built, not attached, here).
        Training.Objectives.ObjectiveList.Parse(options.Objective, options.Temperature, options.LabelSmoothing);
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
            torch.manual_seed(options.Seed);
            var trainer = new Trainer(options, progress) { Validation = new OnnxValidationScorer(options.Threads) };
            var training = trainer.Train(train, validation, outDir, resume, cancellation);
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
                TrainedOn = TrainingPlatform.Current(ConvLayoutGuard.Current),
                Metrics = new Dictionary<string, double>
                {
                    [$"{evaluatedOn}_accuracy"] = metrics.Accuracy,
                    [$"{evaluatedOn}_top5_accuracy"] = metrics.Top5Accuracy,
                    [$"{evaluatedOn}_ece"] = metrics.Ece,
                    [$"{evaluatedOn}_macro_f1"] = metrics.MacroF1,
                    ["train_seconds"] = training.TrainSeconds,
                },
            };
            new ModelBundle(described, bundle.Model).Save(outDir);
            if (heldOut is { Count: > 0 })
                CalibrateUnknown(outDir, ReferenceEquals(evalSet, heldOut) ? logits
                    : ClassifierInference.Logits(bundle.Model, bundle.Description.Normalization, heldOut), heldOut.Count, described.NumClasses);
            var result = new Result(outDir, spec.ToString(), evaluatedOn, metrics, training.Epochs, training.TrainSeconds,
                training.ExamplesPerSecond, wall.Elapsed.TotalSeconds, train.Count, heldOut?.Count ?? 0, splits.Test?.Count ?? 0);
            WriteOutputs(result, options, described.TrainedOn, monitored: heldOut is not null ? "validation" : "test");
            return result;
        }
        finally
        {
            if (!ReferenceEquals(train, all)) train.Dispose();
            heldOut?.Dispose();
        }
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
                new("recipe", $"{options.Optimizer}, lr {options.LearningRate}, {options.Schedule}, batch {options.BatchSize}, seed {options.Seed}, {options.Threads} threads"),
                new("trained on", platform.Cpu),
                new("convolutions in NCHW", platform.ConvNchwFallbacks.Count == 0
                    ? "none for correctness (channels-last verified for every convolution)"
                    : "channels-last wrong on this CPU: " + string.Join("; ", platform.ConvNchwFallbacks)),
                new("convolutions in NCHW for speed", platform.ConvNchwForSpeed.Count == 0 ? "none" : string.Join("; ", platform.ConvNchwForSpeed)),
            ],
        });
    }
}

using System.Diagnostics;
using Protea.Data;
using TorchSharp;

namespace Protea.Incremental;

/// <summary>One step's outcome: the classes seen, accuracy on all of them, on the old and the new ones, and the step's seconds (learning, not evaluation).</summary>
public sealed record IncrementalStepResult(int Step, int ClassesSeen, int NewClasses, double Accuracy, double? OldAccuracy, double NewAccuracy,
    double? HarmonicMean, double Seconds);

/// <summary>What a method did on a scenario: the accuracy matrix, the summary metrics and each step.</summary>
public sealed record IncrementalResult(
    string Method,
    string Scenario,
    IReadOnlyList<string> ClassOrder,
    IReadOnlyList<IReadOnlyList<double>> AccuracyMatrix,
    double AverageIncrementalAccuracy,
    double LastAccuracy,
    double AverageForgetting,
    double BackwardTransfer,
    IReadOnlyList<IncrementalStepResult> Steps,
    double Seconds);

/// <summary>Progress of a run: a method finished a step.</summary>
public sealed record IncrementalProgress(string Method, int Step, int Steps, double Accuracy, double Seconds);

/// <summary>
/// The facade <c>protea incremental</c> calls: a scenario over a data set's training and test splits,
/// each method run on it from the same seed (torch's global generator is seeded before each method,
/// as TrainingRun does once per run), each step evaluated on the test items of every class seen.
/// </summary>
public static class IncrementalRun
{
    /// <param name="perClass">Training items per class for full steps (a seeded sample), null: all.</param>
    /// <param name="testPerClass">Test items per class evaluated, null: all.</param>
    public static IReadOnlyList<IncrementalResult> Run(DataSplits splits, Scenario scenario, IReadOnlyList<string> methods, IncrementalOptions options,
        int? perClass = null, int? testPerClass = null, IProgress<IncrementalProgress>? progress = null, CancellationToken cancellation = default)
    {
        var test = splits.Test ?? throw new ProteaException($"{splits.Train.Source}: incremental evaluation needs a test split (a test/ folder, or Fashion-MNIST's)", "data");
        foreach (var m in methods) IncrementalMethods.Create(m, options).Dispose();
        var results = new List<IncrementalResult>();
        foreach (var name in methods)
        {
            torch.manual_seed(options.Seed);
            using var method = IncrementalMethods.Create(name, options);
            results.Add(RunOne(method, splits.Train, test, scenario, perClass, testPerClass, progress, cancellation));
        }
        return results;
    }

    public static IncrementalResult RunOne(IIncrementalMethod method, Dataset train, Dataset test, Scenario scenario, int? perClass, int? testPerClass,
        IProgress<IncrementalProgress>? progress = null, CancellationToken cancellation = default)
    {
        var matrix = new List<IReadOnlyList<double>>();
        var steps = new List<IncrementalStepResult>();
        var total = Stopwatch.StartNew();
        for (var s = 0; s < scenario.Tasks; s++)
        {
            cancellation.ThrowIfCancellationRequested();
            using var stepTrain = scenario.TrainingData(train, s, perClass);
            var step = s;
            var watch = Stopwatch.StartNew();
            method.Learn(new IncrementalStep(s, stepTrain, s == 0 ? 0 : scenario.SeenAfter(s - 1), () => scenario.SeenTrainingData(train, step, perClass)));
            var seconds = watch.Elapsed.TotalSeconds;
            using var stepTest = scenario.TestData(test, s, testPerClass);
            var predicted = method.Predict(stepTest);
            var (row, all, old, fresh) = IncrementalMetrics.Row(predicted, stepTest.Labels, stepTest.Labels.Select(l => scenario.TaskOf(l)).ToArray(), s);
            matrix.Add(row);
            double? oldAccuracy = double.IsNaN(old) ? null : old;
            steps.Add(new IncrementalStepResult(s, scenario.SeenAfter(s), scenario.TaskSizes[s], all, oldAccuracy, fresh,
                oldAccuracy is { } o ? IncrementalMetrics.HarmonicMean(o, fresh) : null, seconds));
            progress?.Report(new IncrementalProgress(method.Name, s + 1, scenario.Tasks, all, seconds));
        }
        var metrics = IncrementalMetrics.From(matrix, steps.Select(x => x.Accuracy).ToArray());
        return new IncrementalResult(method.Name, scenario.Describe(), scenario.SeenNames(train.ClassNames, scenario.Tasks - 1), matrix,
            metrics.AverageIncrementalAccuracy, metrics.LastAccuracy, metrics.AverageForgetting, metrics.BackwardTransfer, steps, total.Elapsed.TotalSeconds);
    }
}

using Protea.Data;
using Protea.Deploy;
using Protea.Evaluation;
using Protea.Models;
using Protea.Predictions;

namespace Protea.Discovery;

/// <summary>One scorer's separation of known from unknown items, and the scores it gave.</summary>
public sealed record ScorerComparison(string Scorer, OodMetrics Metrics, double[] KnownScores, double[] UnknownScores);

/// <summary>Every scorer on the same known and unknown items.</summary>
/// <param name="Known">The known data, as its spec names it, and the split scored.</param>
/// <param name="Unknown">The unknown data, as its spec names it.</param>
public sealed record UnknownBenchmarkResult(string Engine, string Known, string Unknown, int FitExamples, int KnownExamples, int UnknownExamples,
    IReadOnlyList<ScorerComparison> Scorers);

/// <summary>
/// Compares the unknown scorers on a saved model: each is fitted on the known data's training part,
/// then known items (held out) and unknown items (a data set whose classes may all be new to the model;
/// its labels are not used) are scored, with known as the in-distribution class.
/// </summary>
public static class UnknownBenchmark
{
    public static UnknownBenchmarkResult Run(string modelDir, DataSpec known, DataSpec unknown, UnknownScorerOptions? options = null,
        EngineChoice engine = EngineChoice.Auto, int threads = 0, CancellationToken cancellation = default)
    {
        var o = options ?? new UnknownScorerOptions();
        o.Check();
        var description = ModelBundle.ReadDescription(modelDir);
        using var knownData = Renamed("known", () => KnownData.Load(known, description, o.Seed));
        using var unknownData = Renamed("unknown", () =>
        {
            var unknownSpec = ModelInputs.ForModel(unknown, description);
            var (data, _) = unknownSpec.LoadEvaluationSet();
            try
            {
                ModelInputs.CheckCompatible(data, description, unknownSpec);
                return data.Count > 0 ? data : throw new ProteaException($"{unknown}: no examples", "data");
            }
            catch
            {
                data.Dispose();
                throw;
            }
        });
        using var opened = InferenceEngines.Open(modelDir, engine, threads);
        var fit = InferenceEngines.RunAll(opened, knownData.Fit, cancellation: cancellation);
        var heldOut = InferenceEngines.RunAll(opened, knownData.HeldOut, cancellation: cancellation);
        var other = InferenceEngines.RunAll(opened, unknownData, cancellation: cancellation);
        var results = new List<ScorerComparison>();
        foreach (var name in UnknownScorers.Names)
        {
            cancellation.ThrowIfCancellationRequested();
            using var scorer = UnknownScorers.Fit(name, fit, knownData.FitLabels, o);
            var k = scorer.Score(heldOut);
            var u = scorer.Score(other);
            results.Add(new ScorerComparison(name, OodMetrics.Compute(k, u), k, u));
        }
        return new UnknownBenchmarkResult(opened.Name, $"{Named(known)} ({knownData.HeldOutSplit})", Named(unknown),
            knownData.Fit.Count, knownData.HeldOut.Count, unknownData.Count, results);
    }

    private static string Named(DataSpec spec) => spec.Classes is null ? spec.ToString() : $"{spec} classes {spec.Classes}";

    /// <summary>Runs <paramref name="load"/>; errors about the data or its classes name which of the two data sets they are about: known_data, unknown_classes, ...</summary>
    public static T Renamed<T>(string which, Func<T> load)
    {
        try
        {
            return load();
        }
        catch (ProteaException e) when (e.Field is "data" or "classes")
        {
            throw new ProteaException(e.Message, e.ExitCode, $"{which}_{e.Field}");
        }
    }
}

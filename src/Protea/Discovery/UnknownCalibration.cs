using Protea.Data;
using Protea.Deploy;
using Protea.Models;

namespace Protea.Discovery;

/// <summary>What calibrating an unknown scorer chose and measured.</summary>
/// <param name="Scorer">The scorer's name.</param>
/// <param name="Threshold">Scores above it are unknown.</param>
/// <param name="FitExamples">Training examples the statistics were fitted on.</param>
/// <param name="HeldOutExamples">Known examples the threshold was chosen on.</param>
/// <param name="HeldOutSplit">"test" or "validation".</param>
/// <param name="KnownKept">The share of held-out known examples at or below the threshold (≥ 0.95).</param>
public sealed record UnknownCalibrationResult(string Scorer, double Threshold, int FitExamples, int HeldOutExamples, string HeldOutSplit, double KnownKept);

/// <summary>
/// Calibrates a saved model's unknown scorer: fits its statistics on the known training data, sets the
/// threshold at 95 % true-positive rate on held-out known data, and saves both into the model folder.
/// </summary>
public static class UnknownCalibration
{
    public static UnknownCalibrationResult Calibrate(string modelDir, DataSpec spec, string? scorer = null, UnknownScorerOptions? options = null,
        EngineChoice engine = EngineChoice.Auto, int threads = 0, CancellationToken cancellation = default)
    {
        var name = UnknownScorers.Check(scorer);
        (options ?? new UnknownScorerOptions()).Check();
        var description = ModelBundle.ReadDescription(modelDir);
        using var data = KnownData.Load(spec, description, options?.Seed ?? 0);
        using var opened = InferenceEngines.Open(modelDir, engine, threads);
        var fit = InferenceEngines.RunAll(opened, data.Fit, cancellation: cancellation);
        using var fitted = UnknownScorers.Fit(name, fit, data.FitLabels, options);
        var scores = fitted.Score(InferenceEngines.RunAll(opened, data.HeldOut, cancellation: cancellation));
        var threshold = UnknownDetector.ThresholdAt(scores);
        var detector = new UnknownDetector(fitted, threshold);
        detector.Save(modelDir, $"{spec} ({data.HeldOutSplit})");
        return new UnknownCalibrationResult(name, threshold, data.Fit.Count, data.HeldOut.Count, data.HeldOutSplit,
            scores.Count(s => s <= threshold) / (double)scores.Length);
    }
}

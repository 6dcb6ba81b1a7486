using Protea.Data;
using Protea.Models;
using Protea.Predictions;

namespace Protea.Discovery;

/// <summary>
/// Data of the model's known classes, split in two: what the scorers' statistics are fitted on (the
/// spec's training data, a seeded sample of at most <see cref="MaxFitExamples"/>) and what thresholds and
/// metrics are measured on (the spec's own test split, else a seeded, stratified 20 % held out of the
/// training data). Items of classes the model does not know are left out of both.
/// </summary>
public sealed class KnownData : IDisposable
{
    public const int MaxFitExamples = 10_000;
    public const double HeldOutFraction = 0.2;

    private KnownData(Dataset fit, long[] fitLabels, Dataset heldOut, string heldOutSplit)
    {
        Fit = fit;
        FitLabels = fitLabels;
        HeldOut = heldOut;
        HeldOutSplit = heldOutSplit;
    }

    public Dataset Fit { get; }

    /// <summary>The fit examples' classes as indices into the model's class list.</summary>
    public long[] FitLabels { get; }

    public Dataset HeldOut { get; }

    /// <summary>"test" (the spec's own test split) or "validation" (held out of its training data).</summary>
    public string HeldOutSplit { get; }

    public static KnownData Load(DataSpec spec, ModelDescription description, int seed = 0)
    {
        var fitted = ModelInputs.ForModel(spec, description);
        using var splits = fitted.Load();
        ModelInputs.CheckCompatible(splits.Train, description, fitted);
        using var train = OnlyKnown(splits.Train, description);
        Dataset fit, heldOut;
        string split;
        if (splits.Test is { } test && OnlyKnownOrNull(test, description) is { } knownTest)
            (fit, heldOut, split) = (train.Sample(Math.Min(MaxFitExamples, train.Count), seed), knownTest, "test");
        else
        {
            var (t, v) = TrainValidationSplit.Split(train, HeldOutFraction, seed);
            using (t) fit = t.Sample(Math.Min(MaxFitExamples, t.Count), seed);
            (heldOut, split) = (v, "validation");
        }
        if (heldOut.Count == 0)
        {
            fit.Dispose();
            heldOut.Dispose();
            throw new ProteaException($"{spec}: too few examples of the model's classes to hold some out for calibration", "data");
        }
        return new KnownData(fit, ModelInputs.MapLabels(fit, description), heldOut, split);
    }

    /// <summary>The examples whose class the model knows (a new dataset); none is an error.</summary>
    public static Dataset OnlyKnown(Dataset data, ModelDescription description)
    {
        var mapped = ModelInputs.MapLabels(data, description);
        var rows = Enumerable.Range(0, mapped.Length).Where(i => mapped[i] >= 0).Select(i => (long)i).ToArray();
        if (rows.Length == 0)
            throw new ProteaException($"{data.Source}: no labelled examples of the model's classes", "data");
        return data.Subset(rows);
    }

    private static Dataset? OnlyKnownOrNull(Dataset data, ModelDescription description)
    {
        var mapped = ModelInputs.MapLabels(data, description);
        var rows = Enumerable.Range(0, mapped.Length).Where(i => mapped[i] >= 0).Select(i => (long)i).ToArray();
        return rows.Length == 0 ? null : data.Subset(rows);
    }

    public void Dispose()
    {
        Fit.Dispose();
        HeldOut.Dispose();
    }
}

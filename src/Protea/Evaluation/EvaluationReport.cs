using System.Text.Json.Serialization;

namespace Protea.Evaluation;

/// <summary>
/// The metrics of a classifier on labelled data, serialised by <c>protea eval --json</c> with
/// <see cref="Protea.IO.ProteaJson.Options"/>.
/// </summary>
/// <param name="Accuracy">Fraction of labelled examples whose arg-max class is the label.</param>
/// <param name="Top5Accuracy">
/// Fraction whose label is among the <paramref name="TopK"/> highest scores. <paramref name="TopK"/> is
/// min(5, classes), so with fewer than 5 classes every label is in the top K and this is 1.0.
/// </param>
/// <param name="TopK">The k used for <paramref name="Top5Accuracy"/>.</param>
/// <param name="Ece">Expected calibration error, 15 equal-width confidence bins (Guo et al. 2017).</param>
/// <param name="Nll">Mean negative log-likelihood of the label (cross-entropy, natural log).</param>
/// <param name="MacroF1">Unweighted mean of the per-class F1 over all classes, including absent ones.</param>
/// <param name="Count">Number of labelled examples evaluated (labels &lt; 0 are skipped).</param>
/// <param name="PerClass">One row per class, in class-index order.</param>
/// <param name="Confusion">[true class][predicted class] counts (scikit-learn's convention).</param>
public sealed record EvaluationReport(
    double Accuracy,
    [property: JsonPropertyName("top5_accuracy")] double Top5Accuracy,
    int TopK,
    double Ece,
    double Nll,
    double MacroF1,
    int Count,
    IReadOnlyList<ClassMetrics> PerClass,
    long[][] Confusion);

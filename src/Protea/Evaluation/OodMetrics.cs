namespace Protea.Evaluation;

/// <summary>
/// How well an unknown score separates known (in-distribution) items from unknown ones. Scores follow
/// the unknown scorers' convention: higher means more likely unknown.
/// </summary>
/// <param name="Auroc">Area under the ROC curve: the chance that a random unknown item scores above a random known one, ties counting half (as scikit-learn's roc_auc_score).</param>
/// <param name="AuprIn">Average precision with the known items as the positive class, ranked by the negated score.</param>
/// <param name="AuprOut">Average precision with the unknown items as the positive class, ranked by the score.</param>
/// <param name="FprAt95Tpr">The share of unknown items accepted as known when the threshold accepts 95 % of the known ones (the first ROC point with TPR ≥ 0.95, known as positive).</param>
public sealed record OodMetrics(double Auroc, double AuprIn, double AuprOut, double FprAt95Tpr)
{
    /// <summary>The four metrics of <paramref name="known"/> against <paramref name="unknown"/> scores; both must be non-empty and finite.</summary>
    public static OodMetrics Compute(IReadOnlyList<double> known, IReadOnlyList<double> unknown)
    {
        if (known.Count == 0 || unknown.Count == 0)
            throw new ProteaException($"unknown-detection metrics need known and unknown items; got {known.Count} known and {unknown.Count} unknown");
        if (known.Concat(unknown).Any(s => !double.IsFinite(s)))
            throw new ArgumentException("scores must be finite");
        var scores = known.Concat(unknown).ToArray();
        var isUnknown = Enumerable.Repeat(false, known.Count).Concat(Enumerable.Repeat(true, unknown.Count)).ToArray();
        var negated = scores.Select(s => -s).ToArray();
        var isKnown = isUnknown.Select(u => !u).ToArray();
        return new OodMetrics(RocAuc(scores, isUnknown), AveragePrecision(negated, isKnown), AveragePrecision(scores, isUnknown), FprAtTpr(negated, isKnown, 0.95));
    }

    /// <summary>ROC AUC of <paramref name="scores"/> for <paramref name="positive"/>, by average ranks (tied scores count half, as the trapezoidal ROC does).</summary>
    public static double RocAuc(IReadOnlyList<double> scores, IReadOnlyList<bool> positive)
    {
        var n = scores.Count;
        var order = Enumerable.Range(0, n).OrderBy(i => scores[i]).ToArray();
        var ranks = new double[n];
        for (var i = 0; i < n;)
        {
            var j = i;
            while (j + 1 < n && scores[order[j + 1]] == scores[order[i]]) j++;
            var average = (i + j) / 2.0 + 1;
            for (var t = i; t <= j; t++) ranks[order[t]] = average;
            i = j + 1;
        }
        long p = positive.Count(x => x), q = n - p;
        if (p == 0 || q == 0) throw new ArgumentException("AUROC needs both classes");
        var rankSum = Enumerable.Range(0, n).Where(i => positive[i]).Sum(i => ranks[i]);
        return (rankSum - p * (p + 1) / 2.0) / ((double)p * q);
    }

    /// <summary>Average precision as scikit-learn's average_precision_score: Σ (Rₙ − Rₙ₋₁) Pₙ over distinct thresholds, highest first.</summary>
    public static double AveragePrecision(IReadOnlyList<double> scores, IReadOnlyList<bool> positive)
    {
        var total = positive.Count(x => x);
        if (total == 0) throw new ArgumentException("average precision needs positive items");
        var order = Enumerable.Range(0, scores.Count).OrderByDescending(i => scores[i]).ToArray();
        double ap = 0, previousRecall = 0;
        long tp = 0, fp = 0;
        for (var i = 0; i < order.Length;)
        {
            var j = i;
            for (; j < order.Length && scores[order[j]] == scores[order[i]]; j++)
                if (positive[order[j]]) tp++; else fp++;
            var recall = (double)tp / total;
            ap += (recall - previousRecall) * tp / (tp + fp);
            previousRecall = recall;
            i = j;
        }
        return ap;
    }

    /// <summary>The false-positive rate at the first ROC point (thresholds from high to low, ties together) whose TPR reaches <paramref name="tpr"/>.</summary>
    public static double FprAtTpr(IReadOnlyList<double> scores, IReadOnlyList<bool> positive, double tpr)
    {
        long p = positive.Count(x => x), q = positive.Count - p;
        if (p == 0 || q == 0) throw new ArgumentException("FPR at TPR needs both classes");
        var order = Enumerable.Range(0, scores.Count).OrderByDescending(i => scores[i]).ToArray();
        long tp = 0, fp = 0;
        for (var i = 0; i < order.Length;)
        {
            var j = i;
            for (; j < order.Length && scores[order[j]] == scores[order[i]]; j++)
                if (positive[order[j]]) tp++; else fp++;
            if ((double)tp / p >= tpr) return (double)fp / q;
            i = j;
        }
        return 1;
    }
}

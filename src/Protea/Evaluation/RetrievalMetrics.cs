namespace Protea.Evaluation;

/// <summary>
/// Retrieval metrics over ranked neighbour labels: for each query, the labels of the index items
/// nearest to it, nearest first. Unlabelled queries (label &lt; 0) are not scored.
/// </summary>
public static class RetrievalMetrics
{
    /// <summary>The K of Recall@K that search reports.</summary>
    public static IReadOnlyList<int> StandardKs { get; } = [1, 2, 4, 8];

    /// <summary>Whether any of the first <paramref name="k"/> ranked labels is the query's label (Recall@K's hit).</summary>
    public static bool Hit(ReadOnlySpan<long> ranked, long label, int k)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(k, 1);
        var n = Math.Min(k, ranked.Length);
        for (var i = 0; i < n; i++)
            if (ranked[i] == label) return true;
        return false;
    }

    /// <summary>
    /// Average precision at R (Musgrave, Belongie and Lim 2020, "A Metric Learning Reality Check"):
    /// (1/R) * sum over i &lt;= R of P@i when item i is of the query's class, where R is the number of
    /// index items of that class. <paramref name="ranked"/> needs at least R entries.
    /// </summary>
    public static double AveragePrecisionAtR(ReadOnlySpan<long> ranked, long label, int r)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(r, 1);
        if (ranked.Length < r)
            throw new ArgumentException($"{ranked.Length} ranked labels, but R = {r} are needed", nameof(ranked));
        double sum = 0;
        var relevant = 0;
        for (var i = 0; i < r; i++)
        {
            if (ranked[i] != label) continue;
            relevant++;
            sum += (double)relevant / (i + 1);
        }
        return sum / r;
    }

    /// <summary>Recall@K over queries: the fraction of labelled queries with a hit among their first K neighbours.</summary>
    public static double RecallAtK(IReadOnlyList<long[]> ranked, IReadOnlyList<long> labels, int k)
    {
        int scored = 0, hits = 0;
        for (var q = 0; q < labels.Count; q++)
        {
            if (labels[q] < 0) continue;
            scored++;
            if (Hit(ranked[q], labels[q], k)) hits++;
        }
        return scored == 0 ? double.NaN : (double)hits / scored;
    }

    /// <summary>
    /// mAP@R over queries; <paramref name="classCounts"/>[c] is the number of index items of class c.
    /// Queries of a class the index does not hold (R = 0) are not scored.
    /// </summary>
    public static double MeanAveragePrecisionAtR(IReadOnlyList<long[]> ranked, IReadOnlyList<long> labels, IReadOnlyList<int> classCounts)
    {
        double sum = 0;
        var scored = 0;
        for (var q = 0; q < labels.Count; q++)
        {
            var label = labels[q];
            if (label < 0 || label >= classCounts.Count || classCounts[(int)label] == 0) continue;
            scored++;
            sum += AveragePrecisionAtR(ranked[q], label, classCounts[(int)label]);
        }
        return scored == 0 ? double.NaN : sum / scored;
    }
}

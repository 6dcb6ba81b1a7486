namespace Protea.Evaluation;

/// <summary>
/// Clustering accuracy after the best one-to-one matching of clusters to classes (Hungarian), on all
/// items and split into items of old (known) and new classes, as the generalized category discovery
/// protocol computes it (Vaze et al. 2022: one matching over all unlabelled items, then the split).
/// NaN where a part has no items.
/// </summary>
/// <param name="All">Share of items whose cluster is matched to their class.</param>
/// <param name="Old">The same share among items whose true class is an old one.</param>
/// <param name="New">The same share among items of the other (new) classes.</param>
public sealed record ClusteringAccuracy(double All, double Old, double New);

/// <summary>
/// Clustering metrics on label vectors (any integers; a class or cluster is a distinct value):
/// Hungarian-matched accuracy, normalised mutual information and the adjusted Rand index, each as
/// scikit-learn / the GCD reference code computes it. Plain static functions, for discovery and search.
/// </summary>
public static class ClusteringMetrics
{
    /// <summary>
    /// Hungarian-matched accuracy of <paramref name="predicted"/> clusters against <paramref name="truth"/>
    /// classes: one matching over all items, then the split by whether the true class is in
    /// <paramref name="oldClasses"/>.
    /// </summary>
    public static ClusteringAccuracy Accuracy(IReadOnlyList<int> truth, IReadOnlyList<int> predicted, IEnumerable<int>? oldClasses = null)
    {
        var match = Match(truth, predicted, out var classOf, out var clusterOf);
        var old = new HashSet<int>(oldClasses ?? []);
        long all = 0, oldCount = 0, oldHits = 0, newCount = 0, newHits = 0;
        for (var i = 0; i < truth.Count; i++)
        {
            var hit = match[clusterOf[predicted[i]]] == classOf[truth[i]];
            if (hit) all++;
            if (old.Contains(truth[i])) { oldCount++; if (hit) oldHits++; }
            else { newCount++; if (hit) newHits++; }
        }
        return new ClusteringAccuracy(truth.Count == 0 ? double.NaN : (double)all / truth.Count,
            oldCount == 0 ? double.NaN : (double)oldHits / oldCount, newCount == 0 ? double.NaN : (double)newHits / newCount);
    }

    /// <summary>
    /// The class each cluster is matched to by the Hungarian matching that maximises the items in
    /// agreement: cluster value → class value; clusters left unmatched (more clusters than classes) are absent.
    /// </summary>
    public static IReadOnlyDictionary<int, int> MatchedClasses(IReadOnlyList<int> truth, IReadOnlyList<int> predicted)
    {
        var match = Match(truth, predicted, out var classOf, out var clusterOf);
        var classes = classOf.OrderBy(p => p.Value).Select(p => p.Key).ToArray();
        return clusterOf.Where(p => match[p.Value] >= 0).ToDictionary(p => p.Key, p => classes[match[p.Value]]);
    }

    /// <summary>Normalised mutual information with the arithmetic mean of the entropies (scikit-learn's default); 1 when both have a single value.</summary>
    public static double Nmi(IReadOnlyList<int> truth, IReadOnlyList<int> predicted)
    {
        var (table, rows, cols) = Contingency(truth, predicted, out _, out _);
        var n = (double)truth.Count;
        var a = Sums(table, rows, cols, byRow: true);
        var b = Sums(table, rows, cols, byRow: false);
        if ((rows == 1 && cols == 1) || n == 0) return 1.0;
        double mi = 0;
        for (var i = 0; i < rows; i++)
            for (var j = 0; j < cols; j++)
                if (table[i, j] > 0) mi += table[i, j] / n * Math.Log(n * table[i, j] / (a[i] * b[j]));
        var hTruth = Entropy(a, n);
        var hPred = Entropy(b, n);
        if (mi <= 0 || hTruth + hPred <= 0) return 0.0;
        return Math.Max(0, mi) / Math.Max((hTruth + hPred) / 2, double.Epsilon);
    }

    /// <summary>Adjusted Rand index (Hubert and Arabie), as scikit-learn's adjusted_rand_score.</summary>
    public static double Ari(IReadOnlyList<int> truth, IReadOnlyList<int> predicted)
    {
        var (table, rows, cols) = Contingency(truth, predicted, out _, out _);
        var n = (double)truth.Count;
        static double Pairs(double x) => x * (x - 1) / 2;
        var a = Sums(table, rows, cols, byRow: true);
        var b = Sums(table, rows, cols, byRow: false);
        double index = 0;
        foreach (var c in table) index += Pairs(c);
        var sumA = a.Sum(Pairs);
        var sumB = b.Sum(Pairs);
        var expected = n < 2 ? 0 : sumA * sumB / Pairs(n);
        var maxIndex = (sumA + sumB) / 2;
        // Special cases as scikit-learn: identical trivial partitions score 1.
        if (maxIndex == expected) return 1.0;
        return (index - expected) / (maxIndex - expected);
    }

    private static int[] Match(IReadOnlyList<int> truth, IReadOnlyList<int> predicted, out Dictionary<int, int> classOf, out Dictionary<int, int> clusterOf)
    {
        var (table, rows, cols) = Contingency(truth, predicted, out classOf, out clusterOf);
        // Rows: clusters; columns: classes.
        var weights = new double[cols, rows];
        for (var i = 0; i < rows; i++)
            for (var j = 0; j < cols; j++) weights[j, i] = table[i, j];
        return LinearAssignment.Maximize(weights);
    }

    /// <summary>Counts [classes, clusters] with each distinct value mapped to a dense index (in ascending value order).</summary>
    private static (long[,] Table, int Rows, int Cols) Contingency(IReadOnlyList<int> truth, IReadOnlyList<int> predicted,
        out Dictionary<int, int> classOf, out Dictionary<int, int> clusterOf)
    {
        if (truth.Count != predicted.Count)
            throw new ArgumentException($"{truth.Count} true labels but {predicted.Count} predicted ones");
        classOf = truth.Distinct().Order().Select((v, i) => (v, i)).ToDictionary(p => p.v, p => p.i);
        clusterOf = predicted.Distinct().Order().Select((v, i) => (v, i)).ToDictionary(p => p.v, p => p.i);
        var table = new long[classOf.Count, clusterOf.Count];
        for (var i = 0; i < truth.Count; i++) table[classOf[truth[i]], clusterOf[predicted[i]]]++;
        return (table, classOf.Count, clusterOf.Count);
    }

    private static double[] Sums(long[,] table, int rows, int cols, bool byRow)
    {
        var s = new double[byRow ? rows : cols];
        for (var i = 0; i < rows; i++)
            for (var j = 0; j < cols; j++) s[byRow ? i : j] += table[i, j];
        return s;
    }

    private static double Entropy(double[] counts, double n) =>
        -counts.Where(c => c > 0).Sum(c => c / n * Math.Log(c / n));
}

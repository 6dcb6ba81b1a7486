using Protea.Evaluation;
using static TorchSharp.torch;

namespace Protea.Discovery;

/// <summary>
/// Estimates the number of classes among labelled and unlabelled items by clustering at each k of a
/// range. "labelled" (the GCD paper's criterion, Vaze et al. 2022): plain k-means on all items (labels
/// not used), scored by the Hungarian-matched accuracy on the labelled items. That accuracy cannot see
/// unlabelled groups being merged, so its maximum leans to too few clusters (7 for Fashion-MNIST's 10
/// with a from-scratch cnn); and it cannot see them being split either. So every k whose labelled accuracy
/// is within <see cref="DefaultTolerance"/> of the best counts as a tie, and of the ties whose silhouette
/// is also within the tolerance of the ties' best (splitting a compact group costs silhouette) the
/// largest k is chosen: the finest partition both scores accept. A tolerance of 0 is the paper's argmax.
/// "silhouette": semi-supervised k-means, scored by the mean silhouette. The silhouette is computed on a
/// seeded sample of at most <see cref="SilhouetteSample"/> items.
/// </summary>
public static class KEstimator
{
    public const string Labelled = "labelled";
    public const string SilhouetteCriterion = "silhouette";
    public static readonly IReadOnlyList<string> Criteria = [Labelled, SilhouetteCriterion];
    public const int SilhouetteSample = 2000;
    public const double DefaultTolerance = 0.02;

    /// <param name="x">Items [N, D].</param>
    /// <param name="labels">Known class per item or −1.</param>
    /// <param name="kMin">Smallest k (at least the number of known classes, and 2).</param>
    /// <param name="kMax">Largest k (below the number of items).</param>
    public static KEstimate Estimate(Tensor x, IReadOnlyList<long> labels, int kMin, int kMax, string criterion = Labelled,
        KMeansOptions? options = null, IProgress<KCurvePoint>? progress = null, double tolerance = DefaultTolerance)
    {
        if (tolerance is < 0 or >= 1 || double.IsNaN(tolerance))
            throw new ProteaException($"k tolerance {tolerance} must be at least 0 and below 1", "k_tolerance");
        var o = options ?? new KMeansOptions();
        var n = (int)x.shape[0];
        if (!Criteria.Contains(criterion))
            throw new ProteaException($"k criterion '{criterion}': must be one of {string.Join(", ", Criteria)}", "k_criterion");
        var known = labels.Count == 0 ? 0 : (int)(labels.Max() + 1);
        var labelledRows = Enumerable.Range(0, n).Where(i => labels[i] >= 0).ToArray();
        if (criterion == Labelled && labelledRows.Length == 0)
            throw new ProteaException("estimating k by labelled accuracy needs labelled items; none were given", "data");
        kMin = Math.Max(Math.Max(kMin, known), 2);
        if (kMax >= n) throw new ProteaException($"the largest k tried, {kMax}, is not below the {n} items", "k");
        if (kMin > kMax) throw new ProteaException($"k range {kMin}-{kMax} is empty", "k");

        var sample = Enumerable.Range(0, n).ToArray();
        new Random(o.Seed).Shuffle(sample);
        sample = sample.Take(SilhouetteSample).Order().ToArray();
        using var sampleIndex = tensor(sample.Select(i => (long)i).ToArray());
        using var xs = x.index_select(0, sampleIndex);
        var unlabelled = Enumerable.Repeat(-1L, n).ToArray();
        var curve = new List<KCurvePoint>();
        for (var k = kMin; k <= kMax; k++)
        {
            using var result = SemiSupervisedKMeans.Fit(x, criterion == Labelled ? unlabelled : labels, k, o);
            var accuracy = labelledRows.Length == 0 ? double.NaN
                : ClusteringMetrics.Accuracy(labelledRows.Select(i => (int)labels[i]).ToArray(), labelledRows.Select(i => result.Assignments[i]).ToArray()).All;
            var sampled = sample.Select(i => result.Assignments[i]).ToArray();
            var silhouette = sampled.Distinct().Count() is var c && c >= 2 && c < sampled.Length ? Silhouette.Score(xs, sampled) : double.NaN;
            var point = new KCurvePoint(k, accuracy, silhouette);
            curve.Add(point);
            progress?.Report(point);
        }
        var chosen = criterion == Labelled ? ChooseByLabelled(curve, tolerance) : curve.MaxBy(p => OrMin(p.Silhouette))!.K;
        return new KEstimate(chosen, criterion, curve);
    }

    /// <summary>The "labelled" criterion's choice on a curve (see the class summary).</summary>
    public static int ChooseByLabelled(IReadOnlyList<KCurvePoint> curve, double tolerance = DefaultTolerance)
    {
        var top = curve.Max(p => p.LabelledAccuracy);
        var ties = curve.Where(p => p.LabelledAccuracy >= top - tolerance - 1e-12).ToList();
        var topSilhouette = ties.Max(p => OrMin(p.Silhouette));
        return ties.Where(p => OrMin(p.Silhouette) >= topSilhouette - tolerance - 1e-12).Max(p => p.K);
    }

    private static double OrMin(double v) => double.IsNaN(v) ? double.NegativeInfinity : v;
}

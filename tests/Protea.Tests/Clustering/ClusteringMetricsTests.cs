using System.Globalization;
using Protea.Evaluation;
using Protea.Tests.Support;

namespace Protea.Tests.Clustering;

public sealed class ClusteringMetricsTests
{
    // The GCD reference (Vaze et al. 2022, split_cluster_acc_v2) on SciPy's linear_sum_assignment, and scikit-learn's NMI and ARI.
    private const string Oracle = """
        import sys, numpy as np
        from scipy.optimize import linear_sum_assignment
        from sklearn.metrics import normalized_mutual_info_score, adjusted_rand_score
        y_true = np.array(sys.argv[1].split(','), dtype=int); y_pred = np.array(sys.argv[2].split(','), dtype=int)
        old = set(int(c) for c in sys.argv[3].split(','))
        D = max(y_pred.max(), y_true.max()) + 1
        w = np.zeros((D, D), dtype=int)
        for i in range(y_pred.size): w[y_pred[i], y_true[i]] += 1
        ind = np.vstack(linear_sum_assignment(w.max() - w)).T
        ind_map = {j: i for i, j in ind}
        total = sum(w[i, j] for i, j in ind) / y_pred.size
        o = sum(w[ind_map[c], c] for c in set(y_true) if c in old) / sum(w[:, c].sum() for c in set(y_true) if c in old)
        n = sum(w[ind_map[c], c] for c in set(y_true) if c not in old) / sum(w[:, c].sum() for c in set(y_true) if c not in old)
        for v in [total, o, n, normalized_mutual_info_score(y_true, y_pred), adjusted_rand_score(y_true, y_pred)]: print(repr(float(v)))
        """;

    [Theory]
    [InlineData(1, 300, 6, 8, 0.3)]
    [InlineData(2, 120, 5, 5, 0.5)]
    [InlineData(3, 1000, 10, 7, 0.2)]
    [InlineData(4, 50, 3, 12, 0.6)]
    public void Accuracy_nmi_and_ari_match_scipy_and_scikit_learn(int seed, int n, int classes, int clusters, double noise)
    {
        var random = new Random(seed);
        var permutation = Enumerable.Range(0, Math.Max(classes, clusters)).ToArray();
        random.Shuffle(permutation);
        var truth = Enumerable.Range(0, n).Select(_ => random.Next(classes)).ToArray();
        var predicted = truth.Select(t => random.NextDouble() < noise ? random.Next(clusters) : permutation[t] % clusters).ToArray();
        var old = Enumerable.Range(0, classes / 2).ToArray();
        var inv = CultureInfo.InvariantCulture;
        var expected = Python.Run(Oracle, string.Join(",", truth), string.Join(",", predicted), string.Join(",", old))
            .Trim().Split('\n').Select(l => double.Parse(l, inv)).ToArray();
        var accuracy = ClusteringMetrics.Accuracy(truth, predicted, old);
        Assert.Equal(expected[0], accuracy.All, 12);
        Assert.Equal(expected[1], accuracy.Old, 12);
        Assert.Equal(expected[2], accuracy.New, 12);
        Assert.Equal(expected[3], ClusteringMetrics.Nmi(truth, predicted), 10);
        Assert.Equal(expected[4], ClusteringMetrics.Ari(truth, predicted), 10);
    }

    [Fact]
    public void A_relabelled_perfect_clustering_scores_one_and_the_matching_names_the_classes()
    {
        int[] truth = [0, 0, 1, 1, 2, 2, 2];
        int[] predicted = [5, 5, 9, 9, 3, 3, 3];
        Assert.Equal(new ClusteringAccuracy(1, 1, 1), ClusteringMetrics.Accuracy(truth, predicted, [0]));
        Assert.Equal(1.0, ClusteringMetrics.Nmi(truth, predicted), 12);
        Assert.Equal(1.0, ClusteringMetrics.Ari(truth, predicted), 12);
        var matched = ClusteringMetrics.MatchedClasses(truth, predicted);
        Assert.Equal(0, matched[5]);
        Assert.Equal(1, matched[9]);
        Assert.Equal(2, matched[3]);
    }

    [Fact]
    public void Hand_computed_case_one_matching_then_split()
    {
        // Cluster 0 holds 3 of class 0 and 2 of class 1; cluster 1 holds 1 of class 1. Matching: 0->0, 1->1.
        int[] truth = [0, 0, 0, 1, 1, 1];
        int[] predicted = [0, 0, 0, 0, 0, 1];
        var a = ClusteringMetrics.Accuracy(truth, predicted, [0]);
        Assert.Equal(4 / 6.0, a.All, 12);
        Assert.Equal(1.0, a.Old, 12);
        Assert.Equal(1 / 3.0, a.New, 12);
        Assert.True(double.IsNaN(ClusteringMetrics.Accuracy(truth, predicted).Old));
    }

    [Fact]
    public void Assignment_maximises_the_total_weight_on_rectangular_matrices()
    {
        var w = new double[,] { { 1, 9, 3 }, { 8, 7, 2 } };
        Assert.Equal([1, 0], LinearAssignment.Maximize(w));
        var tall = new double[,] { { 1 }, { 5 }, { 3 } };
        Assert.Equal([-1, 0, -1], LinearAssignment.Maximize(tall));
    }
}

using System.Globalization;
using Protea.Discovery;
using Protea.Evaluation;
using Protea.Tests.Support;
using static TorchSharp.torch;

namespace Protea.Tests.Clustering;

public sealed class SemiSupervisedKMeansTests
{
    [Fact]
    public void Recovers_gaussian_blobs_with_labelled_items_fixed_to_their_classes()
    {
        var (x, truth) = Blobs.Make(blobs: 6, perBlob: 120, dim: 8, separation: 8, seed: 1);
        using var _ = x;
        var labels = Blobs.Labelled(truth, known: 3, share: 0.5, seed: 2);
        using var result = SemiSupervisedKMeans.Fit(x, labels, 6, new KMeansOptions { Seed = 3 });
        for (var i = 0; i < truth.Length; i++)
            if (labels[i] >= 0) Assert.Equal(labels[i], result.Assignments[i]);
        // Unlabelled items of known classes land in their class's own cluster; the rest are grouped perfectly.
        for (var i = 0; i < truth.Length; i++)
            if (truth[i] < 3) Assert.Equal(truth[i], result.Assignments[i]);
        var unlabelled = Enumerable.Range(0, truth.Length).Where(i => labels[i] < 0).ToArray();
        var accuracy = ClusteringMetrics.Accuracy(unlabelled.Select(i => truth[i]).ToArray(), unlabelled.Select(i => result.Assignments[i]).ToArray(), [0, 1, 2]);
        Assert.Equal(new ClusteringAccuracy(1, 1, 1), accuracy);
    }

    [Fact]
    public void The_result_is_a_fixed_point_and_its_inertia_is_the_summed_squared_distance()
    {
        // Overlapping blobs so that the assignment is not trivial.
        var (x, truth) = Blobs.Make(blobs: 4, perBlob: 100, dim: 5, separation: 2, seed: 4);
        using var _ = x;
        var labels = Blobs.Labelled(truth, known: 2, share: 0.3, seed: 5);
        using var result = SemiSupervisedKMeans.Fit(x, labels, 5, new KMeansOptions { Seed = 6, Tolerance = 0, MaxIterations = 500 });
        var points = x.to(float64).data<double>().ToArray();
        var centroids = result.Centroids.to(float64).data<double>().ToArray();
        double Distance(int i, int c) => Enumerable.Range(0, 5).Sum(d => Math.Pow(points[i * 5 + d] - centroids[c * 5 + d], 2));
        var inertia = 0.0;
        for (var i = 0; i < truth.Length; i++)
        {
            inertia += Distance(i, result.Assignments[i]);
            if (labels[i] < 0)
            {
                var nearest = Enumerable.Range(0, 5).MinBy(c => Distance(i, c));
                Assert.True(Distance(i, result.Assignments[i]) <= Distance(i, nearest) + 1e-3, $"item {i} is not with its nearest centroid");
            }
        }
        Assert.Equal(inertia, result.Inertia, inertia * 1e-4);
        // Each centroid is the mean of its members (labelled ones included).
        for (var c = 0; c < 5; c++)
        {
            var members = Enumerable.Range(0, truth.Length).Where(i => result.Assignments[i] == c).ToArray();
            if (members.Length == 0) continue;
            for (var d = 0; d < 5; d++)
                Assert.Equal(members.Average(i => points[i * 5 + d]), centroids[c * 5 + d], 1e-3);
        }
    }

    [Fact]
    public void Many_rows_in_chunks_give_the_same_fixed_point_on_one_thread_and_two()
    {
        // 5,000 rows (several parallel chunks) of 37 dimensions (SIMD vectors plus a scalar tail).
        var (x, truth) = Blobs.Make(blobs: 6, perBlob: 834, dim: 37, separation: 1.5, seed: 11);
        using var _ = x;
        var labels = Blobs.Labelled(truth, known: 3, share: 0.4, seed: 12);
        var threads = get_num_threads();
        KMeansResult one, two;
        try
        {
            set_num_threads(1);
            one = SemiSupervisedKMeans.Fit(x, labels, 6, new KMeansOptions { Seed = 13, Restarts = 2, Tolerance = 0, MaxIterations = 300 });
            set_num_threads(2);
            two = SemiSupervisedKMeans.Fit(x, labels, 6, new KMeansOptions { Seed = 13, Restarts = 2, Tolerance = 0, MaxIterations = 300 });
        }
        finally
        {
            set_num_threads(threads);
        }
        using (one)
        using (two)
        {
            Assert.Equal(one.Assignments, two.Assignments);
            Assert.Equal(one.Inertia, two.Inertia);
            Assert.True(TensorAssert.Identical(one.Centroids, two.Centroids));
            // Float64 oracle: each centroid is its members' mean, each unlabelled row is with its nearest centroid.
            var points = x.to(float64).data<double>().ToArray();
            var centroids = one.Centroids.to(float64).data<double>().ToArray();
            double Distance(int i, int c) => Enumerable.Range(0, 37).Sum(d => Math.Pow(points[i * 37 + d] - centroids[c * 37 + d], 2));
            for (var c = 0; c < 6; c++)
            {
                var members = Enumerable.Range(0, truth.Length).Where(i => one.Assignments[i] == c).ToArray();
                for (var d = 0; d < 37; d++)
                    Assert.Equal(members.Average(i => points[i * 37 + d]), centroids[c * 37 + d], 1e-4);
            }
            var inertia = 0.0;
            for (var i = 0; i < truth.Length; i++)
            {
                inertia += Distance(i, one.Assignments[i]);
                if (labels[i] >= 0) Assert.Equal(labels[i], one.Assignments[i]);
                else Assert.True(Distance(i, one.Assignments[i]) <= Enumerable.Range(0, 6).Min(c => Distance(i, c)) + 1e-3, $"item {i}");
            }
            Assert.Equal(inertia, one.Inertia, inertia * 1e-5);
        }
    }

    [Fact]
    public void A_seed_gives_the_same_clustering_twice()
    {
        var (x, truth) = Blobs.Make(blobs: 5, perBlob: 60, dim: 4, separation: 3, seed: 7);
        using var _ = x;
        var labels = Blobs.Labelled(truth, known: 2, share: 0.5, seed: 8);
        using var a = SemiSupervisedKMeans.Fit(x, labels, 7, new KMeansOptions { Seed = 9, Restarts = 2 });
        using var b = SemiSupervisedKMeans.Fit(x, labels, 7, new KMeansOptions { Seed = 9, Restarts = 2 });
        Assert.Equal(a.Assignments, b.Assignments);
        Assert.Equal(a.Inertia, b.Inertia);
    }

    [Fact]
    public void K_estimation_finds_seven_on_seven_well_separated_blobs()
    {
        var (x, truth) = Blobs.Make(blobs: 7, perBlob: 80, dim: 10, separation: 10, seed: 11);
        using var _ = x;
        var labels = Blobs.Labelled(truth, known: 3, share: 0.5, seed: 12);
        var byAccuracy = KEstimator.Estimate(x, labels, 3, 12, KEstimator.Labelled, new KMeansOptions { Seed = 13, Restarts = 3 });
        Assert.Equal(7, byAccuracy.K);
        Assert.Equal(Enumerable.Range(3, 10), byAccuracy.Curve.Select(p => p.K));
        var bySilhouette = KEstimator.Estimate(x, labels, 3, 12, KEstimator.SilhouetteCriterion, new KMeansOptions { Seed = 13, Restarts = 3 });
        Assert.Equal(7, bySilhouette.K);
    }

    [Fact]
    public void Labelled_criterion_takes_the_largest_k_that_ties_on_both_scores()
    {
        // The curve `discover` measured on Fashion-MNIST (5 known classes, cnn trained from scratch): labelled
        // accuracy peaks at 7, but 8 and 9 are within 2 points, and their silhouettes within 0.02 of 7's.
        KCurvePoint[] fmnist = [new(5, 0.753, 0.286), new(6, 0.722, 0.281), new(7, 0.844, 0.271), new(8, 0.832, 0.262),
            new(9, 0.830, 0.261), new(10, 0.822, 0.263), new(11, 0.793, 0.259), new(12, 0.697, 0.249)];
        Assert.Equal(9, KEstimator.ChooseByLabelled(fmnist));
        Assert.Equal(7, KEstimator.ChooseByLabelled(fmnist, tolerance: 0)); // the paper's argmax
        Assert.Equal(10, KEstimator.ChooseByLabelled(fmnist, tolerance: 0.025));
        // Well-separated groups: splitting an unlabelled group keeps labelled accuracy at 1 but costs silhouette.
        KCurvePoint[] blobs = [new(6, 0.90, 0.70), new(7, 1.0, 0.85), new(8, 1.0, 0.74), new(9, 1.0, 0.66)];
        Assert.Equal(7, KEstimator.ChooseByLabelled(blobs));
        Assert.Equal("k_tolerance", Assert.Throws<ProteaException>(() => KEstimator.Estimate(randn(8, 2), [0, 1, -1, -1, -1, -1, -1, -1], 2, 3, tolerance: -0.1)).Field);
    }

    [Fact]
    public void Silhouette_matches_scikit_learn()
    {
        var (x, truth) = Blobs.Make(blobs: 4, perBlob: 30, dim: 3, separation: 2, seed: 14);
        using var _ = x;
        var clusters = truth.Select((t, i) => i % 17 == 0 ? 4 : t).ToArray(); // a small extra cluster
        var inv = CultureInfo.InvariantCulture;
        var values = x.to(float64).data<double>().ToArray();
        var expected = double.Parse(Python.Run("""
            import sys, numpy as np
            from sklearn.metrics import silhouette_score
            x = np.array(sys.argv[1].split(','), dtype=float).reshape(-1, 3)
            print(repr(float(silhouette_score(x, np.array(sys.argv[2].split(','), dtype=int)))))
            """, string.Join(",", values.Select(v => v.ToString("R", inv))), string.Join(",", clusters)).Trim(), inv);
        Assert.Equal(expected, Silhouette.Score(x, clusters), 1e-9);
    }

    [Fact]
    public void Bad_inputs_are_user_errors_naming_the_setting()
    {
        using var x = randn(5, 2);
        Assert.Equal("k", Assert.Throws<ProteaException>(() => SemiSupervisedKMeans.Fit(x, new long[5].Select(_ => -1L).ToArray(), 6)).Field);
        Assert.Equal("k", Assert.Throws<ProteaException>(() => SemiSupervisedKMeans.Fit(x, [0, 1, 2, -1, -1], 2)).Field);
        using var empty = zeros(0, 2);
        Assert.Equal("data", Assert.Throws<ProteaException>(() => SemiSupervisedKMeans.Fit(empty, [], 1)).Field);
        Assert.Equal("data", Assert.Throws<ProteaException>(() => KEstimator.Estimate(x, [-1, -1, -1, -1, -1], 2, 3)).Field);
    }
}

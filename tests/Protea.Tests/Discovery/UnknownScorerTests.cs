using System.Globalization;
using Protea.Deploy;
using Protea.Discovery;
using Protea.Tests.Support;

namespace Protea.Tests.Discovery;

public sealed class UnknownScorerTests
{
    private static readonly CultureInfo Inv = CultureInfo.InvariantCulture;

    /// <summary>Seeded outputs: 3 classes, 6-d embeddings around class centres with correlated noise, and logits.</summary>
    private static (InferenceOutput Output, long[] Labels) Fixture(int n, int seed, double shift = 0)
    {
        var random = new Random(seed);
        const int d = 6, k = 3;
        var embeddings = new float[n * d];
        var logits = new float[n * k];
        var labels = new long[n];
        for (var i = 0; i < n; i++)
        {
            labels[i] = i % k;
            var common = random.NextDouble() - 0.5;
            for (var j = 0; j < d; j++)
                embeddings[i * d + j] = (float)((j % k == labels[i] ? 3 : 0) + shift + common * (j + 1) + (random.NextDouble() - 0.5) * (0.5 + j * 0.3));
            for (var c = 0; c < k; c++) logits[i * k + c] = (float)((random.NextDouble() - 0.5) * 6);
        }
        return (new InferenceOutput(n, k, d, logits, embeddings), labels);
    }

    private static string Join(IEnumerable<double> values) => string.Join(",", values.Select(v => v.ToString("R", Inv)));
    private static string Join(IEnumerable<float> values) => string.Join(",", values.Select(v => v.ToString("R", Inv)));
    private static string Join(IEnumerable<long> values) => string.Join(",", values);

    private static double[] Parse(string line) => line.Trim().Split(',').Select(s => double.Parse(s, Inv)).ToArray();

    [Fact]
    public void Mahalanobis_matches_numpy_with_ledoit_wolf_shrinkage_of_class_centred_embeddings()
    {
        var (train, labels) = Fixture(60, 1);
        var (test, _) = Fixture(25, 2, shift: 0.7);
        using var scorer = MahalanobisScorer.Fit(train, labels);
        var scores = scorer.Score(test);
        var expected = Python.Run("""
            import sys, numpy as np
            from sklearn.covariance import LedoitWolf
            x = np.array(sys.argv[1].split(','), dtype=np.float32).astype(np.float64).reshape(-1, 6)
            y = np.array(sys.argv[2].split(','), dtype=np.int64)
            q = np.array(sys.argv[3].split(','), dtype=np.float32).astype(np.float64).reshape(-1, 6)
            means = np.stack([x[y == c].mean(0) for c in range(3)])
            centred = x - means[y]
            lw = LedoitWolf(assume_centered=True).fit(centred)
            p = np.linalg.pinv(lw.covariance_, hermitian=True)
            d = np.stack([np.einsum('ij,jk,ik->i', q - m, p, q - m) for m in means], 1).min(1)
            print(lw.shrinkage_)
            print(','.join(repr(float(v)) for v in d))
            """, Join(train.Embeddings), Join(labels), Join(test.Embeddings)).Split('\n');
        Assert.Equal(double.Parse(expected[0], Inv), scorer.Shrinkage, 1e-9);
        var want = Parse(expected[1]);
        for (var i = 0; i < want.Length; i++) Assert.Equal(want[i], scores[i], 1e-7 * Math.Max(1, want[i]));
    }

    [Fact]
    public void Fixed_shrinkage_is_used_as_given()
    {
        var (train, labels) = Fixture(30, 3);
        using var scorer = MahalanobisScorer.Fit(train, labels, shrinkage: 0.25);
        Assert.Equal(0.25, scorer.Shrinkage);
    }

    [Fact]
    public void Knn_and_prototype_scores_match_numpy()
    {
        var (train, labels) = Fixture(40, 4);
        var (test, _) = Fixture(15, 5, shift: 1);
        using var knn = KnnScorer.Fit(train, k: 5);
        using var prototype = PrototypeScorer.Fit(train, labels);
        var expected = Python.Run("""
            import sys, numpy as np
            x = np.array(sys.argv[1].split(','), dtype=np.float64).reshape(-1, 6)
            y = np.array(sys.argv[2].split(','), dtype=np.int64)
            q = np.array(sys.argv[3].split(','), dtype=np.float64).reshape(-1, 6)
            n = lambda a: a / np.linalg.norm(a, axis=1, keepdims=True)
            xn, qn = n(x), n(q)
            dist = np.linalg.norm(qn[:, None, :] - xn[None, :, :], axis=2)
            knn = np.sort(dist, axis=1)[:, 4]
            protos = n(np.stack([xn[y == c].mean(0) for c in range(3)]))
            proto = 1 - (qn @ protos.T).max(1)
            print(','.join(repr(float(v)) for v in knn))
            print(','.join(repr(float(v)) for v in proto))
            """, Join(train.Embeddings), Join(labels), Join(test.Embeddings)).Split('\n');
        var wantKnn = Parse(expected[0]);
        var wantProto = Parse(expected[1]);
        var gotKnn = knn.Score(test);
        var gotProto = prototype.Score(test);
        for (var i = 0; i < wantKnn.Length; i++)
        {
            Assert.Equal(wantKnn[i], gotKnn[i], 1e-4);
            Assert.Equal(wantProto[i], gotProto[i], 1e-5);
        }
    }

    [Fact]
    public void Knn_lowers_k_to_the_number_of_stored_embeddings()
    {
        var (train, _) = Fixture(7, 6);
        using var knn = KnnScorer.Fit(train, k: 50);
        Assert.Equal(7, knn.K);
        using var capped = KnnScorer.Fit(train, k: 50, maxStored: 4);
        Assert.Equal(4, capped.K);
    }

    [Fact]
    public void Logit_scorers_follow_higher_is_more_unknown()
    {
        // Row 0 is confident, row 1 flat: row 1 must score higher on every logit scorer.
        var output = new InferenceOutput(2, 3, 1, [8, 0, 0, 1, 1, 1], [0, 0]);
        using var msp = new MspScorer();
        using var maxLogit = new MaxLogitScorer();
        using var energy = new EnergyScorer(2);
        foreach (IUnknownScorer s in new IUnknownScorer[] { msp, maxLogit, energy })
        {
            var scores = s.Score(output);
            Assert.True(scores[1] > scores[0], s.Name);
        }
        // Hand-computed: msp = -e^8/(e^8+2); energy(T=2) = -2·log(e^4 + 2); max-logit = -8.
        Assert.Equal(-Math.Exp(8) / (Math.Exp(8) + 2), msp.Score(output)[0], 12);
        Assert.Equal(-2 * Math.Log(Math.Exp(4) + 2), energy.Score(output)[0], 12);
        Assert.Equal(-2 * Math.Log(3 * Math.Exp(0.5)), energy.Score(output)[1], 12);
        Assert.Equal(-8, maxLogit.Score(output)[0]);
    }

    [Fact]
    public void A_bad_scorer_name_names_the_known_ones()
    {
        var e = Assert.Throws<ProteaException>(() => UnknownScorers.Check("odin"));
        Assert.Equal("scorer", e.Field);
        Assert.Contains("msp, max-logit, energy, mahalanobis, knn, prototype", e.Message);
    }

    [Fact]
    public void Threshold_keeps_95_percent_of_known_scores_at_or_below_it()
    {
        var scores = Enumerable.Range(1, 100).Select(i => (double)i).Reverse().ToArray();
        Assert.Equal(95, UnknownDetector.ThresholdAt(scores));
        Assert.Equal(19, UnknownDetector.ThresholdAt(Enumerable.Range(1, 20).Select(i => (double)i).ToArray()));
        Assert.Equal(20, UnknownDetector.ThresholdAt(Enumerable.Range(1, 21).Select(i => (double)i).ToArray()));
    }
}

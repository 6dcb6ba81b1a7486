using System.Globalization;
using Protea.Evaluation;
using Protea.Tests.Support;

namespace Protea.Tests.Discovery;

public sealed class OodMetricsTests
{
    [Theory]
    [InlineData(1, 200, 150, 10)]
    [InlineData(2, 37, 91, 4)]
    [InlineData(3, 500, 20, 1000)]
    public void Metrics_match_scikit_learn_on_scores_with_ties(int seed, int known, int unknown, int levels)
    {
        // Scores rounded to a few levels, so many are tied within and across the groups.
        var random = new Random(seed);
        var k = Enumerable.Range(0, known).Select(_ => Math.Round(random.NextDouble() * levels) / levels).ToArray();
        var u = Enumerable.Range(0, unknown).Select(_ => Math.Round((random.NextDouble() * 0.8 + 0.3) * levels) / levels).ToArray();
        var m = OodMetrics.Compute(k, u);
        var inv = CultureInfo.InvariantCulture;
        var lines = Python.Run("""
            import sys, numpy as np
            from sklearn.metrics import roc_auc_score, average_precision_score, roc_curve
            k = np.array(sys.argv[1].split(','), dtype=float); u = np.array(sys.argv[2].split(','), dtype=float)
            s = np.concatenate([k, u]); out = np.concatenate([np.zeros(len(k)), np.ones(len(u))])
            fpr, tpr, _ = roc_curve(1 - out, -s)
            print(repr(roc_auc_score(out, s)))
            print(repr(average_precision_score(1 - out, -s)))
            print(repr(average_precision_score(out, s)))
            print(repr(float(fpr[np.searchsorted(tpr, 0.95, side='left')])))
            """, string.Join(",", k.Select(v => v.ToString("R", inv))), string.Join(",", u.Select(v => v.ToString("R", inv))))
            .Trim().Split('\n').Select(l => double.Parse(l, inv)).ToArray();
        Assert.Equal(lines[0], m.Auroc, 12);
        Assert.Equal(lines[1], m.AuprIn, 12);
        Assert.Equal(lines[2], m.AuprOut, 12);
        Assert.Equal(lines[3], m.FprAt95Tpr, 12);
    }

    [Fact]
    public void Perfect_separation_and_all_ties_give_the_extremes()
    {
        var perfect = OodMetrics.Compute([0.1, 0.2, 0.3], [0.5, 0.9]);
        Assert.Equal(new OodMetrics(1, 1, 1, 0), perfect);
        var tied = OodMetrics.Compute([1, 1], [1, 1]);
        Assert.Equal(0.5, tied.Auroc);
        Assert.Equal(1, tied.FprAt95Tpr);
    }
}

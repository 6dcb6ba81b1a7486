using System.Globalization;
using Protea.Explanations;
using Protea.Tests.Support;

namespace Protea.Tests.Explanations;

/// <summary>Spearman's rho against scipy.stats.spearmanr, ties included.</summary>
public sealed class SpearmanTests
{
    [Fact]
    public void MatchesScipyWithTies()
    {
        var random = new Random(5);
        var pairs = Enumerable.Range(0, 6).Select(k =>
        {
            var a = Enumerable.Range(0, 200).Select(_ => (float)Math.Round(random.NextDouble() * (k + 2), 1)).ToArray();
            var b = a.Select(v => (float)Math.Round(v * (k % 2 == 0 ? 1 : -1) + random.NextDouble() * 3, 1)).ToArray();
            return (a, b);
        }).ToList();
        var input = string.Join("\n", pairs.Select(p => string.Join(",", p.a.Select(v => v.ToString("R", CultureInfo.InvariantCulture))) + ";" + string.Join(",", p.b.Select(v => v.ToString("R", CultureInfo.InvariantCulture)))));
        using var dir = new TempDir();
        File.WriteAllText(dir.File("pairs.txt"), input);
        var output = Python.Run("""
            import sys
            from scipy.stats import spearmanr
            for line in open(sys.argv[1]):
                a, b = line.strip().split(';')
                print(repr(spearmanr([float(v) for v in a.split(',')], [float(v) for v in b.split(',')]).correlation))
            """, dir.File("pairs.txt"));
        var expected = output.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => double.Parse(l, CultureInfo.InvariantCulture)).ToArray();
        Assert.Equal(pairs.Count, expected.Length);
        for (var i = 0; i < pairs.Count; i++)
            Assert.Equal(expected[i], Spearman.Correlation(pairs[i].a, pairs[i].b), 10);
        Assert.Equal([1.5, 1.5, 3], Spearman.Ranks([2f, 2f, 5f]));
    }
}

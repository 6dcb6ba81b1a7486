using Protea.Evaluation;

namespace Protea.Tests.Evaluation;

public sealed class RetrievalMetricsTests
{
    // Three queries with hand-ranked neighbour labels (nearest first).
    private static readonly long[][] Ranked =
    [
        [1, 0, 2, 0, 0, 1, 1, 1], // label 0: first hit at rank 2
        [1, 2, 2, 2, 2, 2, 2, 2], // label 1: hit at rank 1
        [0, 1, 0, 1, 0, 1, 2, 0], // label 2: first hit at rank 7
    ];
    private static readonly long[] Labels = [0, 1, 2];

    [Theory]
    [InlineData(1, 1.0 / 3)]
    [InlineData(2, 2.0 / 3)]
    [InlineData(4, 2.0 / 3)]
    [InlineData(8, 1.0)]
    public void RecallAtK_CountsQueriesWithASameClassItemAmongTheirKNearest(int k, double expected) =>
        Assert.Equal(expected, RetrievalMetrics.RecallAtK(Ranked, Labels, k), 12);

    [Fact]
    public void RecallAtK_SkipsUnlabelledQueries() =>
        Assert.Equal(0.5, RetrievalMetrics.RecallAtK(Ranked, [0, -1, 2], 2), 12);

    [Fact]
    public void AveragePrecisionAtR_MatchesHandComputedCases()
    {
        // Musgrave et al. 2020's example: R = 10, the first 3 retrieved are correct, the rest not: 3/10.
        Assert.Equal(0.3, RetrievalMetrics.AveragePrecisionAtR([7, 7, 7, 1, 1, 1, 1, 1, 1, 1, 7], 7, 10), 12);
        // R = 3, relevant at ranks 1, 3, 4 (rank 4 lies beyond R): (1/3)(1/1 + 2/3) = 5/9.
        Assert.Equal(5.0 / 9, RetrievalMetrics.AveragePrecisionAtR([0, 1, 0, 0], 0, 3), 12);
        // R = 3, relevant only at rank 3: (1/3)(1/3).
        Assert.Equal(1.0 / 9, RetrievalMetrics.AveragePrecisionAtR([1, 1, 0], 0, 3), 12);
        // All R first: 1.
        Assert.Equal(1.0, RetrievalMetrics.AveragePrecisionAtR([4, 4, 0], 4, 2), 12);
        Assert.Throws<ArgumentException>(() => RetrievalMetrics.AveragePrecisionAtR([0, 0], 0, 3));
    }

    [Fact]
    public void MeanAveragePrecisionAtR_AveragesOverQueriesWhoseClassTheIndexHolds()
    {
        // Class counts in the index: class 0 has 2 items, class 1 has 1, class 2 has none (its query is not scored).
        // q0: R = 2, ranked [1, 0]: (1/2)(1/2) = 0.25; q1: R = 1, ranked [1]: 1.
        var map = RetrievalMetrics.MeanAveragePrecisionAtR(Ranked, Labels, [2, 1, 0]);
        Assert.Equal((0.25 + 1.0) / 2, map, 12);
    }
}

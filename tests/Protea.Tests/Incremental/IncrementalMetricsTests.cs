using Protea.Incremental;

namespace Protea.Tests.Incremental;

public class IncrementalMetricsTests
{
    // A[i][j]: accuracy on task j after step i.
    private static readonly double[][] Matrix =
    [
        [0.90],
        [0.60, 0.80],
        [0.50, 0.70, 0.95],
    ];

    [Fact]
    public void Forgetting_and_backward_transfer_match_hand_computed_values()
    {
        // Forgetting: task 0: max(0.9, 0.6) - 0.5 = 0.4; task 1: 0.8 - 0.7 = 0.1; mean 0.25.
        Assert.Equal(0.25, IncrementalMetrics.ForgettingOf(Matrix), 12);
        // BWT: (0.5 - 0.9 + 0.7 - 0.8) / 2 = -0.25.
        Assert.Equal(-0.25, IncrementalMetrics.BackwardTransferOf(Matrix), 12);
    }

    [Fact]
    public void Forgetting_takes_the_best_earlier_accuracy_not_the_first()
    {
        double[][] m = [[0.5], [0.9, 0.8], [0.3, 0.8, 0.7]];
        // task 0: max(0.5, 0.9) - 0.3 = 0.6; task 1: 0.8 - 0.8 = 0 -> 0.3. BWT: (0.3-0.5 + 0.8-0.8)/2 = -0.1.
        Assert.Equal(0.3, IncrementalMetrics.ForgettingOf(m), 12);
        Assert.Equal(-0.1, IncrementalMetrics.BackwardTransferOf(m), 12);
    }

    [Fact]
    public void Summary_uses_the_step_accuracies()
    {
        var metrics = IncrementalMetrics.From(Matrix, [0.90, 0.70, 0.72]);
        Assert.Equal((0.90 + 0.70 + 0.72) / 3, metrics.AverageIncrementalAccuracy, 12);
        Assert.Equal(0.72, metrics.LastAccuracy, 12);
        Assert.Equal(0.25, metrics.AverageForgetting, 12);
        Assert.Equal(-0.25, metrics.BackwardTransfer, 12);
    }

    [Fact]
    public void One_step_has_no_forgetting_and_a_ragged_matrix_is_refused()
    {
        Assert.Equal(0, IncrementalMetrics.ForgettingOf([[0.7]]));
        Assert.Equal(0, IncrementalMetrics.BackwardTransferOf([[0.7]]));
        Assert.Throws<ArgumentException>(() => IncrementalMetrics.ForgettingOf([[0.7], [0.5]]));
    }

    [Fact]
    public void Harmonic_mean()
    {
        Assert.Equal(2 * 0.8 * 0.4 / 1.2, IncrementalMetrics.HarmonicMean(0.8, 0.4), 12);
        Assert.Equal(0, IncrementalMetrics.HarmonicMean(0, 0));
    }

    [Fact]
    public void Row_counts_per_task_old_and_new()
    {
        // Tasks: items 0-2 task 0, items 3-5 task 1, items 6-7 task 2.
        long[] labels = [0, 0, 1, 2, 2, 3, 4, 4];
        int[] tasks = [0, 0, 0, 1, 1, 1, 2, 2];
        long[] predicted = [0, 1, 1, 2, 0, 3, 4, 0];
        var (row, all, old, fresh) = IncrementalMetrics.Row(predicted, labels, tasks, 2);
        Assert.Equal([2.0 / 3, 2.0 / 3, 0.5], row);
        Assert.Equal(5.0 / 8, all, 12);
        Assert.Equal(4.0 / 6, old, 12);
        Assert.Equal(0.5, fresh, 12);
    }
}

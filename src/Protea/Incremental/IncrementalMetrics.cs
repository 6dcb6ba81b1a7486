namespace Protea.Incremental;

/// <summary>
/// The standard class-incremental metrics from an accuracy matrix A[i][j] (accuracy on task j's test
/// items after training step i, for j &lt;= i) and the accuracy on all seen classes after each step.
/// </summary>
/// <remarks>
/// Average incremental accuracy (Rebuffi et al. 2017): the mean over steps of the accuracy on every
/// class seen so far. Average forgetting (Chaudhry et al. 2018): over the tasks before the last, the
/// mean of the best accuracy any earlier step had on it minus the last step's. Backward transfer
/// (Lopez-Paz &amp; Ranzato 2017): the mean of A[T-1][j] - A[j][j] over j &lt; T-1. Both are 0 with one step.
/// </remarks>
public sealed record IncrementalMetrics(
    double AverageIncrementalAccuracy,
    double LastAccuracy,
    double AverageForgetting,
    double BackwardTransfer)
{
    public static IncrementalMetrics From(IReadOnlyList<IReadOnlyList<double>> matrix, IReadOnlyList<double> stepAccuracy)
    {
        CheckMatrix(matrix);
        if (stepAccuracy.Count != matrix.Count)
            throw new ArgumentException($"{stepAccuracy.Count} step accuracies for {matrix.Count} steps");
        return new IncrementalMetrics(stepAccuracy.Average(), stepAccuracy[^1], ForgettingOf(matrix), BackwardTransferOf(matrix));
    }

    public static double ForgettingOf(IReadOnlyList<IReadOnlyList<double>> matrix)
    {
        CheckMatrix(matrix);
        var last = matrix.Count - 1;
        if (last == 0) return 0;
        double sum = 0;
        for (var j = 0; j < last; j++)
        {
            var best = double.NegativeInfinity;
            for (var l = j; l < last; l++) best = Math.Max(best, matrix[l][j]);
            sum += best - matrix[last][j];
        }
        return sum / last;
    }

    public static double BackwardTransferOf(IReadOnlyList<IReadOnlyList<double>> matrix)
    {
        CheckMatrix(matrix);
        var last = matrix.Count - 1;
        if (last == 0) return 0;
        double sum = 0;
        for (var j = 0; j < last; j++) sum += matrix[last][j] - matrix[j][j];
        return sum / last;
    }

    /// <summary>2ab / (a + b); 0 when both are 0 (the FSCIL summary of old- and new-class accuracy).</summary>
    public static double HarmonicMean(double a, double b) => a + b <= 0 ? 0 : 2 * a * b / (a + b);

    /// <summary>
    /// One row of the matrix and the step's accuracies from predictions: per task seen (0..step), the
    /// fraction of its items predicted right; all: over every item; old: items of tasks before
    /// <paramref name="step"/> (NaN at step 0); new: items of task <paramref name="step"/>.
    /// </summary>
    /// <param name="taskOf">The task of each item.</param>
    public static (double[] Row, double All, double Old, double New) Row(IReadOnlyList<long> predicted, IReadOnlyList<long> labels, IReadOnlyList<int> taskOf, int step)
    {
        if (predicted.Count != labels.Count || taskOf.Count != labels.Count)
            throw new ArgumentException("predictions, labels and tasks must have one entry per item");
        var right = new long[step + 1];
        var count = new long[step + 1];
        for (var i = 0; i < labels.Count; i++)
        {
            var t = taskOf[i];
            if (t < 0 || t > step) throw new ArgumentException($"item {i} belongs to task {t}, not one of the {step + 1} seen");
            count[t]++;
            if (predicted[i] == labels[i]) right[t]++;
        }
        var row = new double[step + 1];
        for (var t = 0; t <= step; t++) row[t] = count[t] == 0 ? double.NaN : (double)right[t] / count[t];
        var old = step == 0 || count.Take(step).Sum() == 0 ? double.NaN : (double)right.Take(step).Sum() / count.Take(step).Sum();
        return (row, (double)right.Sum() / Math.Max(1, count.Sum()), old, row[step]);
    }

    private static void CheckMatrix(IReadOnlyList<IReadOnlyList<double>> matrix)
    {
        if (matrix.Count == 0) throw new ArgumentException("the accuracy matrix has no steps");
        for (var i = 0; i < matrix.Count; i++)
            if (matrix[i].Count != i + 1)
                throw new ArgumentException($"row {i} of the accuracy matrix has {matrix[i].Count} entries, not {i + 1}");
    }
}

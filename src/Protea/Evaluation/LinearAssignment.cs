namespace Protea.Evaluation;

/// <summary>
/// The linear assignment problem (Hungarian method, Kuhn–Munkres with potentials, O(n³)): a one-to-one
/// pairing of rows and columns with the largest total weight, as SciPy's linear_sum_assignment(maximize=True).
/// </summary>
public static class LinearAssignment
{
    /// <summary>
    /// For each row of <paramref name="weights"/> [rows, cols], the column it is paired with, or −1 when
    /// there are more rows than columns and the row is left unpaired. The pairing maximises the summed weight.
    /// </summary>
    public static int[] Maximize(double[,] weights)
    {
        int rows = weights.GetLength(0), cols = weights.GetLength(1), n = Math.Max(rows, cols);
        if (n == 0) return [];
        var max = 0.0;
        foreach (var w in weights)
        {
            if (!double.IsFinite(w)) throw new ArgumentException("weights must be finite", nameof(weights));
            max = Math.Max(max, w);
        }
        // Square cost matrix (1-based, padding costs max), minimised by shortest augmenting paths.
        double Cost(int i, int j) => i <= rows && j <= cols ? max - weights[i - 1, j - 1] : max;
        var u = new double[n + 1];
        var v = new double[n + 1];
        var rowOf = new int[n + 1]; // rowOf[j]: the row paired with column j (0: none)
        var way = new int[n + 1];
        for (var i = 1; i <= n; i++)
        {
            rowOf[0] = i;
            var j0 = 0;
            var minv = new double[n + 1];
            var used = new bool[n + 1];
            Array.Fill(minv, double.PositiveInfinity);
            do
            {
                used[j0] = true;
                int i0 = rowOf[j0], j1 = 0;
                var delta = double.PositiveInfinity;
                for (var j = 1; j <= n; j++)
                {
                    if (used[j]) continue;
                    var cur = Cost(i0, j) - u[i0] - v[j];
                    if (cur < minv[j]) { minv[j] = cur; way[j] = j0; }
                    if (minv[j] < delta) { delta = minv[j]; j1 = j; }
                }
                for (var j = 0; j <= n; j++)
                    if (used[j]) { u[rowOf[j]] += delta; v[j] -= delta; }
                    else minv[j] -= delta;
                j0 = j1;
            } while (rowOf[j0] != 0);
            do
            {
                var j1 = way[j0];
                rowOf[j0] = rowOf[j1];
                j0 = j1;
            } while (j0 != 0);
        }
        var result = new int[rows];
        Array.Fill(result, -1);
        for (var j = 1; j <= cols; j++)
            if (rowOf[j] >= 1 && rowOf[j] <= rows) result[rowOf[j] - 1] = j - 1;
        return result;
    }
}

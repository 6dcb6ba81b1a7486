using Protea.Deploy;

namespace Protea.Discovery;

/// <summary>Per-row reductions of the logits, in double precision, that the logit-based scorers share.</summary>
internal static class LogitScores
{
    public static double Max(ReadOnlySpan<float> row)
    {
        double max = double.NegativeInfinity;
        foreach (var v in row) max = Math.Max(max, v);
        return max;
    }

    /// <summary>log Σ exp(row / t), computed stably.</summary>
    public static double LogSumExp(ReadOnlySpan<float> row, double t)
    {
        var max = Max(row) / t;
        double sum = 0;
        foreach (var v in row) sum += Math.Exp(v / t - max);
        return max + Math.Log(sum);
    }

    public static double[] Map(InferenceOutput output, Func<ReadOnlySpan<float>, double> score)
    {
        var scores = new double[output.Count];
        for (var i = 0; i < scores.Length; i++) scores[i] = score(output.LogitsOf(i));
        return scores;
    }
}

namespace Protea.Predictions;

/// <summary>Class probabilities from logits: softmax and the k most likely classes.</summary>
public static class ClassProbabilities
{
    /// <summary>Softmax in double precision with the largest logit subtracted first, so large logits stay finite.</summary>
    public static double[] Softmax(ReadOnlySpan<float> logits)
    {
        var max = double.NegativeInfinity;
        foreach (var v in logits) max = Math.Max(max, v);
        var p = new double[logits.Length];
        double sum = 0;
        for (var i = 0; i < p.Length; i++) sum += p[i] = Math.Exp(logits[i] - max);
        for (var i = 0; i < p.Length; i++) p[i] /= sum;
        return p;
    }

    /// <summary>The <paramref name="k"/> most probable classes, most probable first; ties keep the lower class index first.</summary>
    public static IReadOnlyList<ClassProbability> Top(IReadOnlyList<double> probabilities, IReadOnlyList<string> classes, int k)
    {
        CheckTop(k);
        if (probabilities.Count != classes.Count)
            throw new ArgumentException($"{probabilities.Count} probabilities for {classes.Count} classes", nameof(classes));
        return Enumerable.Range(0, probabilities.Count).OrderByDescending(i => probabilities[i]).ThenBy(i => i).Take(k)
            .Select(i => new ClassProbability(classes[i], probabilities[i])).ToList();
    }

    /// <summary>Refuses a top-k of fewer than one class.</summary>
    public static void CheckTop(int k)
    {
        if (k < 1) throw new ProteaException($"must list at least 1 class (asked for {k})", "top");
    }
}

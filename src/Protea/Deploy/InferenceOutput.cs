namespace Protea.Deploy;

/// <summary>Logits [Count, NumClasses] and embeddings [Count, EmbeddingDim] of a batch, row-major.</summary>
public sealed class InferenceOutput
{
    public InferenceOutput(int count, int numClasses, int embeddingDim, float[] logits, float[] embeddings)
    {
        if (logits.Length != (long)count * numClasses)
            throw new ArgumentException($"{logits.Length} logits for {count} x {numClasses}");
        if (embeddings.Length != (long)count * embeddingDim)
            throw new ArgumentException($"{embeddings.Length} embedding values for {count} x {embeddingDim}");
        Count = count;
        NumClasses = numClasses;
        EmbeddingDim = embeddingDim;
        Logits = logits;
        Embeddings = embeddings;
    }

    public int Count { get; }
    public int NumClasses { get; }
    public int EmbeddingDim { get; }
    public float[] Logits { get; }
    public float[] Embeddings { get; }

    public ReadOnlySpan<float> LogitsOf(int example) => Logits.AsSpan(example * NumClasses, NumClasses);

    public ReadOnlySpan<float> EmbeddingOf(int example) => Embeddings.AsSpan(example * EmbeddingDim, EmbeddingDim);

    /// <summary>The arg-max class of every example (the first of tied maxima, as torch.argmax).</summary>
    public int[] Predictions()
    {
        var result = new int[Count];
        for (var i = 0; i < Count; i++)
        {
            var row = LogitsOf(i);
            var best = 0;
            for (var k = 1; k < row.Length; k++)
                if (row[k] > row[best]) best = k;
            result[i] = best;
        }
        return result;
    }
}

namespace Protea.Discovery;

/// <summary>How unknown scorers are fitted: the energy temperature, the KNN neighbour and the Mahalanobis shrinkage.</summary>
public sealed record UnknownScorerOptions
{
    /// <summary>Energy temperature T in score = −T·logsumexp(logits / T); must be positive.</summary>
    public double Temperature { get; init; } = 1;

    /// <summary>KNN: the distance to the k-th nearest training embedding (fewer when the training data is small).</summary>
    public int K { get; init; } = 50;

    /// <summary>KNN: at most this many training embeddings are stored (a seeded sample).</summary>
    public int MaxStoredEmbeddings { get; init; } = 10_000;

    /// <summary>Mahalanobis: covariance shrinkage towards a scaled identity in [0, 1]; null chooses it by the Ledoit-Wolf formula.</summary>
    public double? Shrinkage { get; init; }

    public int Seed { get; init; }

    internal void Check()
    {
        if (!(Temperature > 0) || !double.IsFinite(Temperature))
            throw new ProteaException($"temperature {Temperature}: must be a positive number", "temperature");
        if (K < 1) throw new ProteaException($"k {K}: must be at least 1", "k");
        if (MaxStoredEmbeddings < 1) throw new ArgumentOutOfRangeException(nameof(MaxStoredEmbeddings));
        if (Shrinkage is { } s && !(s >= 0 && s <= 1))
            throw new ProteaException($"shrinkage {s}: must be between 0 and 1", "shrinkage");
    }
}

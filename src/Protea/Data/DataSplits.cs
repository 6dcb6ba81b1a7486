namespace Protea.Data;

/// <summary>What a <see cref="DataSpec"/> yields: training data and, when the source has one, its own test set.</summary>
public sealed record DataSplits(Dataset Train, Dataset? Test) : IDisposable
{
    /// <summary>Names of the feature columns of tabular data, in input order; null for images.</summary>
    public IReadOnlyList<string>? FeatureNames { get; init; }

    /// <summary>The CSV column the labels came from; null for images.</summary>
    public string? LabelColumn { get; init; }

    public void Dispose()
    {
        Train.Dispose();
        Test?.Dispose();
    }
}

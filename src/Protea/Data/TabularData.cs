namespace Protea.Data;

/// <summary>A CSV file read as a tabular <see cref="Dataset"/> (float32 [N, D]) plus the names of its columns.</summary>
public sealed record TabularData(Dataset Data, IReadOnlyList<string> FeatureNames, string LabelColumn) : IDisposable
{
    /// <summary>The column the ids (<see cref="Dataset.Ids"/>) came from; null when rows are named by their row numbers.</summary>
    public string? IdColumn { get; init; }

    /// <summary>The text columns one-hot encoded, with their categories, in column order; null when there are none.</summary>
    public IReadOnlyList<CategoricalColumn>? Categorical { get; init; }

    /// <summary>The data as training split (a CSV has no test split of its own); ownership moves to the result.</summary>
    public DataSplits ToSplits() => new(Data, null) { FeatureNames = FeatureNames, LabelColumn = LabelColumn, IdColumn = IdColumn, Categorical = Categorical };

    public void Dispose() => Data.Dispose();
}

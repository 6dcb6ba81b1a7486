namespace Protea.Data;

/// <summary>What a <see cref="DataSpec"/> yields: training data and, when the source has one, its own test set.</summary>
public sealed record DataSplits(Dataset Train, Dataset? Test) : IDisposable
{
    /// <summary>Names of the feature columns of tabular data, in input order; null for images.</summary>
    public IReadOnlyList<string>? FeatureNames { get; init; }

    /// <summary>The CSV column the labels came from; null for images.</summary>
    public string? LabelColumn { get; init; }

    /// <summary>The CSV column the ids came from; null for images and for CSV rows named by their row numbers.</summary>
    public string? IdColumn { get; init; }

    /// <summary>CSV: the text columns one-hot encoded, with their categories; null when there are none.</summary>
    public IReadOnlyList<CategoricalColumn>? Categorical { get; init; }

    /// <summary>
    /// Only the classes <paramref name="subset"/> chooses, in both splits (see <see cref="Dataset.SelectClasses"/>);
    /// new datasets, this one left as it is. Chosen classes without a single training example are an error.
    /// </summary>
    public DataSplits SelectClasses(ClassSubset subset)
    {
        var chosen = subset.Resolve(Train.ClassNames);
        var train = Train.SelectClasses(chosen);
        try
        {
            RequireExamples(train, subset);
            var test = Test?.SelectClasses(chosen);
            return new DataSplits(train, test) { FeatureNames = FeatureNames, LabelColumn = LabelColumn, IdColumn = IdColumn, Categorical = Categorical };
        }
        catch
        {
            train.Dispose();
            throw;
        }
    }

    /// <summary>Throws when <paramref name="data"/> holds no example of the chosen classes.</summary>
    internal static void RequireExamples(Dataset data, ClassSubset subset)
    {
        if (!data.Labels.Any(l => l >= 0))
            throw new ProteaException(
                $"{data.Source}: no examples of the classes '{subset}' ({string.Join(", ", data.ClassNames)})", ClassSubset.Field);
    }

    public void Dispose()
    {
        Train.Dispose();
        Test?.Dispose();
    }
}

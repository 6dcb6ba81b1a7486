using Protea.Data;
using Protea.Models;

namespace Protea.Predictions;

/// <summary>Fitting data to a saved model: images read at its size and channels, compatibility checks, labels by class name.</summary>
public static class ModelInputs
{
    /// <summary>Images are read at the size and channel count the model was trained on.</summary>
    public static DataSpec ForModel(DataSpec spec, ModelDescription d) =>
        d.InputKind == InputKind.Image && spec.Kind != DataSourceKind.Csv
            ? spec with { ImageSize = (int)d.InputShape[^1], Channels = (int)d.InputShape[0] }
            : spec.Kind == DataSourceKind.Csv ? spec with { IdColumn = CsvReader.IdColumnFor(d.FeatureNames, spec.IdColumn), Categorical = null, Encoding = d.Categorical } : spec;

    /// <summary>Refuses data of another input kind or example shape than the model takes.</summary>
    public static void CheckCompatible(Dataset data, ModelDescription d, DataSpec spec)
    {
        if (data.Kind != d.InputKind)
            throw new ProteaException($"{spec}: {data.Kind.ToString().ToLowerInvariant()} data, but the model takes {d.InputKind.ToString().ToLowerInvariant()} input", "data");
        if (!data.ExampleShape.SequenceEqual(d.InputShape))
            throw new ProteaException($"{spec}: examples have shape [{string.Join(", ", data.ExampleShape)}], the model takes [{string.Join(", ", d.InputShape)}]", "data");
    }

    /// <summary>
    /// Re-indexes the data's labels into the model's class list by name (the data may list its classes
    /// in another order, or only some of them); classes the model does not know count as unlabelled (-1).
    /// </summary>
    public static long[] MapLabels(Dataset data, ModelDescription d)
    {
        var index = d.ClassNames.Select((name, i) => (name, i)).ToDictionary(x => x.name, x => (long)x.i);
        var unknown = data.ClassNames.Where(n => !index.ContainsKey(n)).ToList();
        if (unknown.Count == data.ClassNames.Count)
            throw new ProteaException($"{data.Source}: none of its classes ({string.Join(", ", data.ClassNames.Take(5))}) are classes of the model ({string.Join(", ", d.ClassNames.Take(5))})", "data");
        return data.Labels.Select(l => l >= 0 && index.TryGetValue(data.ClassNames[(int)l], out var m) ? m : -1).ToArray();
    }
}

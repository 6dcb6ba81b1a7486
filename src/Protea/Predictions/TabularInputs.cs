using Protea.Data;
using Protea.Models;
using static TorchSharp.torch;

namespace Protea.Predictions;

/// <summary>
/// Feature rows for a tabular model, matched to its feature columns by name (model.json's feature_names):
/// columns may come in any order, columns the model does not use are ignored, a missing one is an error.
/// A model saved without feature names takes exactly its number of columns, in order.
/// </summary>
internal static class TabularInputs
{
    /// <summary>For each of the model's features in input order, the index of its column in <paramref name="columns"/>.</summary>
    public static int[] Align(IReadOnlyList<string> columns, ModelDescription d, string source)
    {
        var width = (int)d.InputShape[0];
        if (d.FeatureNames is not { } expected)
        {
            if (columns.Count != width)
                throw new ProteaException($"{source}: {columns.Count} feature columns, the model takes {width}");
            return Enumerable.Range(0, width).ToArray();
        }
        var index = new Dictionary<string, int>(StringComparer.Ordinal);
        for (var j = 0; j < columns.Count; j++) index.TryAdd(columns[j], j);
        var missing = expected.Where(name => !index.ContainsKey(name)).ToList();
        if (missing.Count > 0)
            throw new ProteaException(
                $"{source}: no column{(missing.Count > 1 ? "s" : "")} {string.Join(", ", missing.Select(m => $"'{m}'"))}; the model's feature columns are {string.Join(", ", expected)}");
        return expected.Select(name => index[name]).ToArray();
    }

    /// <summary>
    /// Rows of CSV files laid out like the model's training file (a label column is read as such and may
    /// be empty); inputs are named "FILE row N" with N the line number, the header being row 1.
    /// </summary>
    public static (Tensor Inputs, IReadOnlyList<string> Names) ReadCsv(IReadOnlyList<string> files, ModelDescription d)
    {
        var parts = new List<Tensor>();
        var names = new List<string>();
        try
        {
            foreach (var file in files)
            {
                using var table = CsvReader.Read(file, d.LabelColumn, CsvReader.IdColumnFor(d.FeatureNames));
                var order = Align(table.FeatureNames, d, file);
                using var index = tensor(order.Select(j => (long)j).ToArray(), ScalarType.Int64);
                parts.Add(table.Data.Inputs.index_select(1, index));
                // Rows are named by their id: the id column's value, else the row number as the file counts it.
                names.AddRange(table.Data.Ids.Select(id => table.IdColumn is null ? $"{file} row {id}" : $"{file} {table.IdColumn} {id}"));
            }
            return (cat(parts, 0), names);
        }
        finally
        {
            foreach (var t in parts) t.Dispose();
        }
    }

    /// <summary>Rows given as values under named columns (a form, a JSON body) as float32 [N, D] in the model's order.</summary>
    public static Tensor FromRows(IReadOnlyList<string> columns, IReadOnlyList<IReadOnlyList<double>> rows, ModelDescription d, string source)
    {
        var order = Align(columns, d, source);
        var values = new float[rows.Count * order.Length];
        for (var i = 0; i < rows.Count; i++)
        {
            if (rows[i].Count != columns.Count)
                throw new ProteaException($"{source} row {i + 1}: {rows[i].Count} values for {columns.Count} columns");
            for (var j = 0; j < order.Length; j++)
            {
                var v = (float)rows[i][order[j]];
                if (!float.IsFinite(v))
                    throw new ProteaException($"{source} row {i + 1}: column '{columns[order[j]]}' is not a finite float32 number ({rows[i][order[j]]})");
                values[i * order.Length + j] = v;
            }
        }
        return tensor(values, [rows.Count, order.Length]);
    }
}

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
                using var table = CsvReader.Read(file, d.LabelColumn, CsvReader.IdColumnFor(d.FeatureNames), encoding: d.Categorical);
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

    /// <summary>
    /// Rows given as text under named columns (a form, a JSON body, a CSV line): categorical columns are
    /// one-hot encoded with the model's categories, the others read as numbers; then as <see cref="FromRows"/>.
    /// An empty value, a category the model was not trained with, or text in a numeric column is an error
    /// naming the row and column.
    /// </summary>
    public static Tensor FromTextRows(IReadOnlyList<string> columns, IReadOnlyList<IReadOnlyList<string>> rows, ModelDescription d, string source)
    {
        var categorical = (d.Categorical ?? []).ToDictionary(c => c.Column, StringComparer.Ordinal);
        var missing = categorical.Keys.Where(name => !columns.Contains(name, StringComparer.Ordinal)).ToList();
        if (missing.Count > 0)
            throw new ProteaException($"{source}: no column{(missing.Count > 1 ? "s" : "")} {string.Join(", ", missing.Select(m => $"'{m}'"))}; the model one-hot encodes it");
        var used = d.FeatureNames is { } features ? features.ToHashSet(StringComparer.Ordinal) : null;
        var kept = Enumerable.Range(0, columns.Count).Where(j => categorical.ContainsKey(columns[j]) || used is null || used.Contains(columns[j])).ToList();
        var encodedColumns = CategoricalEncoding.EncodedNames(kept.Select(j => columns[j]).ToList(), d.Categorical);
        var indexes = categorical.Values.ToDictionary(c => c.Column, CategoricalEncoding.Index, StringComparer.Ordinal);
        var values = new List<IReadOnlyList<double>>(rows.Count);
        for (var i = 0; i < rows.Count; i++)
        {
            var where = $"{source} row {i + 1}";
            if (rows[i].Count != columns.Count)
                throw new ProteaException($"{where}: {rows[i].Count} values for {columns.Count} columns");
            var row = new List<double>(encodedColumns.Count);
            foreach (var j in kept)
            {
                var text = rows[i][j].Trim();
                if (categorical.TryGetValue(columns[j], out var c))
                {
                    var hot = CategoricalEncoding.IndexOf(c, indexes[c.Column], text, where);
                    row.AddRange(Enumerable.Range(0, c.Categories.Count).Select(k => k == hot ? 1.0 : 0.0));
                }
                else if (text.Length == 0)
                    throw new ProteaException($"{where}: column '{columns[j]}' is empty; every feature needs a number (missing values are not supported)");
                else if (!double.TryParse(text, System.Globalization.NumberStyles.Float, System.Globalization.CultureInfo.InvariantCulture, out var v))
                    throw new ProteaException($"{where}: column '{columns[j]}' is not a number ('{text}')");
                else
                    row.Add(v);
            }
            values.Add(row);
        }
        return FromRows(encodedColumns, values, d, source);
    }
}

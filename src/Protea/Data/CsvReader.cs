using System.Globalization;
using System.Runtime.InteropServices;
using System.Text;
using static TorchSharp.torch;

namespace Protea.Data;

/// <summary>
/// Reads a CSV file (header row, RFC 4180 quoting) of numeric feature columns, one label column and
/// optionally one id column. An empty label marks an unlabelled example (label -1). Row numbers in messages
/// and ids are the line numbers an editor shows, the header being row 1.
/// </summary>
public static class CsvReader
{
    /// <summary>Column names tried, in order, when no label column is named; failing all, the last column is the label.</summary>
    public static IReadOnlyList<string> DefaultLabelColumns { get; } = ["label", "class", "target"];

    /// <summary>The column taken (any case) as the id column when none is named.</summary>
    public const string DefaultIdColumn = "id";

    /// <summary>Asks for no id column: every column but the label is a feature, rows are named by their row numbers.</summary>
    public const string NoIdColumn = "";

    /// <summary>
    /// Reads the file. <paramref name="idColumn"/> names the column whose values name the rows (never a feature);
    /// null takes a column called "id" when there is one, <see cref="NoIdColumn"/> none. Without an id column a
    /// row's id is its row number. <paramref name="categorical"/> declares text columns to one-hot encode
    /// (<see cref="CategoricalEncoding.ParseDeclaration"/>), their categories fitted to this file;
    /// <paramref name="encoding"/> instead gives a model's categorical columns with their categories.
    /// </summary>
    public static TabularData Read(string path, string? labelColumn = null, string? idColumn = null,
        string? categorical = null, IReadOnlyList<CategoricalColumn>? encoding = null)
    {
        string text;
        try
        {
            text = File.ReadAllText(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new ProteaException($"{path}: cannot read: {e.Message}");
        }

        using var records = Records(path, text).GetEnumerator();
        if (!records.MoveNext())
            throw new ProteaException($"{path}: empty file; expected a header row naming the columns, then one row per example");
        var header = records.Current.Fields.Select(f => f.Trim()).ToList();
        var duplicate = header.GroupBy(h => h).FirstOrDefault(g => g.Count() > 1);
        if (duplicate is not null)
            throw new ProteaException($"{path}: column '{duplicate.Key}' appears more than once in the header; column names must be unique");

        int labelIndex = ChooseLabelColumn(path, header, labelColumn);
        int idIndex = ChooseIdColumn(path, header, idColumn, labelIndex);
        var featureIndices = Enumerable.Range(0, header.Count).Where(j => j != labelIndex && j != idIndex).ToArray();
        if (featureIndices.Length == 0)
            throw new ProteaException(
                $"{path}: only the label column '{header[labelIndex]}'{(idIndex >= 0 ? $" and the id column '{header[idIndex]}'" : "")}; at least one numeric feature column is needed");

        // Columns read as text: the model's categorical ones, the declared ones, or (auto) all until the data decides.
        IReadOnlyList<string>? declared = categorical is null ? [] : CategoricalEncoding.ParseDeclaration(categorical);
        bool auto = encoding is null && categorical is not null && declared is null;
        var textColumns = new HashSet<int>();
        foreach (var name in encoding?.Select(c => c.Column) ?? declared ?? [])
        {
            int j = FindColumn(header, name) ?? throw new ProteaException(
                $"{path}: no column '{name}' for categorical values; columns are {string.Join(", ", header)}", ProteaException.BadInput, encoding is null ? CategoricalEncoding.Field : null);
            if (j == labelIndex || j == idIndex)
                throw new ProteaException($"{path}: column '{header[j]}' is the {(j == labelIndex ? "label" : "id")} column, not a categorical feature", CategoricalEncoding.Field);
            textColumns.Add(j);
        }
        if (auto) textColumns.UnionWith(featureIndices);

        var numbers = featureIndices.ToDictionary(j => j, _ => new List<float>());
        var texts = textColumns.ToDictionary(j => j, _ => new List<string>());
        var rows = new List<int>();
        var labelTexts = new List<string>();
        var ids = new List<string>();
        var rowOfId = new Dictionary<string, int>(StringComparer.Ordinal);
        while (records.MoveNext())
        {
            var (row, fields) = records.Current;
            if (fields.Count != header.Count)
                throw new ProteaException($"{path} row {row}: {fields.Count} fields, header has {header.Count}");
            foreach (int j in featureIndices)
                if (texts.TryGetValue(j, out var column)) column.Add(fields[j].Trim());
                else numbers[j].Add(ParseFeature(path, row, header[j], fields[j]));
            rows.Add(row);
            labelTexts.Add(fields[labelIndex].Trim());
            var id = idIndex >= 0 ? fields[idIndex].Trim() : row.ToString(CultureInfo.InvariantCulture);
            if (id.Length == 0)
                throw new ProteaException($"{path} row {row}: id column '{header[idIndex]}' is empty; every row needs an id");
            if (!rowOfId.TryAdd(id, row))
                throw new ProteaException(
                    $"{path} row {row}: id '{id}' in column '{header[idIndex]}' was already used in row {rowOfId[id]}; ids must be unique");
            ids.Add(id);
        }
        if (labelTexts.Count == 0)
            throw new ProteaException($"{path}: header only, no data rows");

        // Auto: a column is categorical when some value is not a number (an empty one is missing, not text).
        if (auto)
            foreach (int j in featureIndices)
                if (texts[j].All(v => v.Length == 0 || CategoricalEncoding.IsNumber(v)))
                {
                    numbers[j] = texts[j].Select((v, i) => ParseFeature(path, rows[i], header[j], v)).ToList();
                    texts.Remove(j);
                }
        var columns = new Dictionary<int, CategoricalColumn>();
        foreach (int j in featureIndices.Where(texts.ContainsKey))
            columns[j] = encoding?.First(c => FindColumn(header, c.Column) == j) is { } given
                ? given with { Column = header[j] }
                : new CategoricalColumn(header[j], CategoricalEncoding.Categories(texts[j].Where(v => v.Length > 0)));

        var width = featureIndices.Sum(j => columns.TryGetValue(j, out var c) ? c.Categories.Count : 1);
        var features = new float[labelTexts.Count * (long)width];
        var offset = 0;
        foreach (int j in featureIndices)
        {
            if (columns.TryGetValue(j, out var c))
            {
                var index = CategoricalEncoding.Index(c);
                for (var i = 0; i < rows.Count; i++)
                    features[(long)i * width + offset + CategoricalEncoding.IndexOf(c, index, texts[j][i], $"{path} row {rows[i]}")] = 1f;
                offset += c.Categories.Count;
            }
            else
            {
                var values = numbers[j];
                for (var i = 0; i < rows.Count; i++) features[(long)i * width + offset] = values[i];
                offset++;
            }
        }

        var classNames = SortClassNames(labelTexts.Where(l => l.Length > 0).Distinct());
        var indexOf = classNames.Select((name, i) => (name, i)).ToDictionary(p => p.name, p => (long)p.i);
        var labels = labelTexts.Select(l => l.Length == 0 ? -1L : indexOf[l]).ToArray();

        var inputs = empty([labels.Length, width], ScalarType.Float32);
        inputs.bytes = MemoryMarshal.AsBytes(features.AsSpan());
        var dataset = new Dataset(inputs, labels, classNames, InputKind.Tabular, path, ids);
        var encoded = featureIndices.Where(columns.ContainsKey).Select(j => columns[j]).ToList();
        return new TabularData(dataset, CategoricalEncoding.EncodedNames(featureIndices.Select(j => header[j]).ToList(), encoded), header[labelIndex])
        {
            IdColumn = idIndex >= 0 ? header[idIndex] : null,
            Categorical = encoded.Count > 0 ? encoded : null,
        };
    }

    /// <summary>
    /// The id column to ask for when reading a file for a model with these feature names: none when the
    /// model took the default id column as a feature (models trained before id columns were recognised),
    /// else <paramref name="requested"/>.
    /// </summary>
    public static string? IdColumnFor(IReadOnlyList<string>? featureNames, string? requested = null) =>
        requested is null && featureNames is not null
            && featureNames.Any(n => string.Equals(n, DefaultIdColumn, StringComparison.OrdinalIgnoreCase))
            ? NoIdColumn
            : requested;

    private static int ChooseLabelColumn(string path, List<string> header, string? labelColumn)
    {
        if (labelColumn is null)
        {
            foreach (var name in DefaultLabelColumns)
            {
                int found = header.FindIndex(h => string.Equals(h, name, StringComparison.OrdinalIgnoreCase));
                if (found >= 0) return found;
            }
            return header.Count - 1;
        }

        return FindColumn(header, labelColumn)
            ?? throw new ProteaException($"{path}: no column '{labelColumn}'; columns are {string.Join(", ", header)}", "label_column");
    }

    /// <summary>The id column's index, or -1 for none.</summary>
    private static int ChooseIdColumn(string path, List<string> header, string? idColumn, int labelIndex)
    {
        if (idColumn == NoIdColumn)
            return -1;
        if (idColumn is null)
        {
            int found = header.FindIndex(h => string.Equals(h, DefaultIdColumn, StringComparison.OrdinalIgnoreCase));
            return found == labelIndex ? -1 : found;
        }
        int named = FindColumn(header, idColumn)
            ?? throw new ProteaException($"{path}: no column '{idColumn}' for the ids; columns are {string.Join(", ", header)}", "id_column");
        if (named == labelIndex)
            throw new ProteaException($"{path}: column '{header[named]}' cannot be both the label and the id column", "id_column");
        return named;
    }

    /// <summary>The column named exactly so, or failing that the only one named so in another case.</summary>
    private static int? FindColumn(List<string> header, string name)
    {
        int exact = header.IndexOf(name);
        if (exact >= 0) return exact;
        var loose = header.Select((h, j) => (h, j)).Where(p => string.Equals(p.h, name, StringComparison.OrdinalIgnoreCase)).ToList();
        return loose.Count == 1 ? loose[0].j : null;
    }

    private static float ParseFeature(string path, int row, string column, string field)
    {
        var text = field.Trim();
        if (text.Length == 0)
            throw new ProteaException(
                $"{path} row {row}: column '{column}' is empty; every feature needs a number (missing values are not supported)");
        if (!double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out double value))
            throw new ProteaException(
                $"{path} row {row}: column '{column}' is not a number ('{text}'); a column of text must be declared categorical to be one-hot encoded",
                CategoricalEncoding.Field);
        float single = (float)value;
        if (!float.IsFinite(single))
            throw new ProteaException($"{path} row {row}: column '{column}' is not a finite float32 number ('{text}')");
        return single;
    }

    /// <summary>Numeric labels sort by value (so "10" follows "9"); any other labels sort ordinally.</summary>
    private static List<string> SortClassNames(IEnumerable<string> names)
    {
        var list = names.ToList();
        var numbers = new Dictionary<string, double>();
        foreach (var name in list)
        {
            if (!double.TryParse(name, NumberStyles.Float, CultureInfo.InvariantCulture, out double v))
                return list.Order(StringComparer.Ordinal).ToList();
            numbers[name] = v;
        }
        return list.OrderBy(n => numbers[n]).ThenBy(n => n, StringComparer.Ordinal).ToList();
    }

    /// <summary>
    /// Splits the text into records of fields. Quoted fields may hold commas, doubled quotes and line breaks;
    /// blank lines are skipped. Each record carries the line it starts on (1-based).
    /// </summary>
    private static IEnumerable<(int Row, List<string> Fields)> Records(string path, string text)
    {
        int i = 0, line = 1;
        var field = new StringBuilder();
        while (i < text.Length)
        {
            int startLine = line;
            var fields = new List<string>();
            bool anyQuoted = false;
            while (true)
            {
                field.Clear();
                if (i < text.Length && text[i] == '"')
                {
                    anyQuoted = true;
                    i++;
                    while (true)
                    {
                        if (i >= text.Length)
                            throw new ProteaException($"{path} row {startLine}: a quoted field is never closed (missing '\"')");
                        char ch = text[i];
                        if (ch == '"')
                        {
                            if (i + 1 < text.Length && text[i + 1] == '"')
                            {
                                field.Append('"');
                                i += 2;
                                continue;
                            }
                            i++;
                            break;
                        }
                        if (ch == '\n') line++;
                        field.Append(ch);
                        i++;
                    }
                }
                // Unquoted text, or whatever follows a closing quote up to the separator (kept, as spreadsheets do).
                while (i < text.Length && text[i] != ',' && text[i] != '\n' && text[i] != '\r')
                    field.Append(text[i++]);
                fields.Add(field.ToString());

                if (i >= text.Length) break;
                if (text[i] == ',')
                {
                    i++;
                    continue;
                }
                if (text[i] == '\r' && i + 1 < text.Length && text[i + 1] == '\n') i++;
                i++;
                line++;
                break;
            }
            bool blank = !anyQuoted && fields.Count == 1 && string.IsNullOrWhiteSpace(fields[0]);
            if (!blank)
                yield return (startLine, fields);
        }
    }
}

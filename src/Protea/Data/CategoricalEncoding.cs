using System.Globalization;

namespace Protea.Data;

/// <summary>
/// One-hot encoding of categorical text columns, done before the network (ONNX inputs stay numeric).
/// A categorical column is declared by name, or <see cref="Auto"/> makes every feature column holding a
/// value that is not a number categorical; undeclared text is an error. The categories are those seen in
/// the training data (numbers by value, other text ordinally) and are saved with the model; a category the
/// model was not trained with, and an empty (missing) value, are errors naming the row and column.
/// </summary>
public static class CategoricalEncoding
{
    /// <summary>The declaration that makes every feature column holding text categorical.</summary>
    public const string Auto = "auto";

    /// <summary>The setting's name in messages (<see cref="ProteaException.Field"/>).</summary>
    public const string Field = "categorical";

    /// <summary>The name of the 0/1 feature for <paramref name="category"/> of <paramref name="column"/>.</summary>
    public static string FeatureName(string column, string category) => $"{column}={category}";

    /// <summary>The declaration's column names ("a,b"), or null for <see cref="Auto"/>; empty names are an error.</summary>
    public static IReadOnlyList<string>? ParseDeclaration(string declaration)
    {
        if (string.Equals(declaration.Trim(), Auto, StringComparison.OrdinalIgnoreCase)) return null;
        var names = declaration.Split(',').Select(n => n.Trim()).ToList();
        if (names.Count == 0 || names.Any(n => n.Length == 0))
            throw new ProteaException($"categorical columns '{declaration}': give column names separated by commas, or '{Auto}'", Field);
        return names;
    }

    /// <summary>Whether <paramref name="text"/> (trimmed) reads as a number.</summary>
    public static bool IsNumber(string text) => double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out _);

    /// <summary>The categories of a column with these (trimmed, non-empty) values: numbers by value, else ordinal.</summary>
    public static IReadOnlyList<string> Categories(IEnumerable<string> values)
    {
        var list = values.Distinct(StringComparer.Ordinal).ToList();
        if (list.All(IsNumber))
            return list.OrderBy(v => double.Parse(v, NumberStyles.Float, CultureInfo.InvariantCulture)).ThenBy(v => v, StringComparer.Ordinal).ToList();
        return list.Order(StringComparer.Ordinal).ToList();
    }

    /// <summary>The encoded feature names of these columns, in order: a categorical column expands to one name per category.</summary>
    public static List<string> EncodedNames(IReadOnlyList<string> columns, IReadOnlyList<CategoricalColumn>? categorical)
    {
        var byName = (categorical ?? []).ToDictionary(c => c.Column, StringComparer.Ordinal);
        var names = new List<string>();
        foreach (var column in columns)
            if (byName.TryGetValue(column, out var c)) names.AddRange(c.Categories.Select(v => FeatureName(column, v)));
            else names.Add(column);
        return names;
    }

    /// <summary>
    /// The index of <paramref name="value"/> among the column's categories; <paramref name="where"/> names the
    /// row ("FILE row N") in the error for an empty value or a category the model was not trained with.
    /// </summary>
    public static int IndexOf(CategoricalColumn c, Dictionary<string, int> index, string value, string where)
    {
        var text = value.Trim();
        if (text.Length == 0)
            throw new ProteaException($"{where}: categorical column '{c.Column}' is empty; every row needs one of its categories (missing values are not supported)");
        if (index.TryGetValue(text, out var i)) return i;
        throw new ProteaException(
            $"{where}: column '{c.Column}' has the category '{text}', which the model was not trained with; its categories are {string.Join(", ", c.Categories.Take(20))}{(c.Categories.Count > 20 ? ", ..." : "")}");
    }

    /// <summary>Category -> position, for <see cref="IndexOf"/>.</summary>
    public static Dictionary<string, int> Index(CategoricalColumn c) =>
        c.Categories.Select((v, i) => (v, i)).ToDictionary(p => p.v, p => p.i, StringComparer.Ordinal);
}

namespace Protea.Data;

/// <summary>
/// How to read a data source, beside naming it (<see cref="DataSpec.Parse"/>). Every setting is optional;
/// each applies to the kinds of data noted, and giving one to another kind is a user error.
/// </summary>
public sealed record DataSpecOptions
{
    /// <summary>CSV: the label column (default: label, class or target, else the last column).</summary>
    public string? LabelColumn { get; init; }

    /// <summary>
    /// CSV: the column that names each row, never a feature (default: a column called "id", any case, when
    /// there is one; <see cref="CsvReader.NoIdColumn"/> for none, rows then named by their row numbers).
    /// </summary>
    public string? IdColumn { get; init; }

    /// <summary>
    /// CSV: the text feature columns to one-hot encode, "a,b" or "auto" (every column holding a value that is
    /// not a number); default none, and a column of text is then an error (<see cref="CategoricalEncoding"/>).
    /// </summary>
    public string? Categorical { get; init; }

    /// <summary>Images: resize to this square side.</summary>
    public int? ImageSize { get; init; }

    /// <summary>Images: 1 (grayscale) or 3 (RGB); default what the images are.</summary>
    public int? Channels { get; init; }

    /// <summary>Any kind: keep only these classes, as <see cref="ClassSubset"/> writes them ("0-4", "cat,dog").</summary>
    public string? Classes { get; init; }
}

namespace Protea.Data;

/// <summary>
/// A parsed data request: the built-in <c>fashion-mnist</c>, a directory of class folders (optionally
/// split into <c>train/</c> and <c>test/</c>, each optionally with an <c>unlabelled/</c> folder), or a CSV
/// file with a label column and optionally an id column; optionally only some of its classes.
/// Parsing checks only the shape of the request; <see cref="Load"/> reads and validates the data.
/// </summary>
public sealed record DataSpec(
    DataSourceKind Kind,
    string Path,
    string? LabelColumn = null,
    int? ImageSize = null,
    int? Channels = null)
{
    public const string FashionMnistName = "fashion-mnist";

    /// <summary>Largest accepted image size; beyond this a preloaded data set would not fit in memory anyway.</summary>
    public const int MaxImageSize = 4096;

    /// <summary>CSV: the id column asked for (null: the default, see <see cref="DataSpecOptions.IdColumn"/>).</summary>
    public string? IdColumn { get; init; }

    /// <summary>CSV: the text columns to one-hot encode as written (<see cref="CategoricalEncoding.ParseDeclaration"/>), or null for none.</summary>
    public string? Categorical { get; init; }

    /// <summary>CSV: a model's categorical columns with their categories (<see cref="Predictions.ModelInputs.ForModel"/>); replaces <see cref="Categorical"/>.</summary>
    public IReadOnlyList<CategoricalColumn>? Encoding { get; init; }

    /// <summary>The class subset as written (see <see cref="ClassSubset"/>), or null for all classes.</summary>
    public string? Classes { get; init; }

    /// <summary>
    /// How <see cref="Load()"/> and <see cref="LoadEvaluationSet()"/> read image folders: memory budget, decoded
    /// cache, workers, bad images (<see cref="DataLoadOptions"/>). Default: all in memory, no cache. Kept by
    /// <c>with</c>, so a spec fitted to a model (image size, channels) reads the same way.
    /// </summary>
    public DataLoadOptions Loading { get; init; } = DataLoadOptions.InMemory;

    public static DataSpec Parse(string spec, DataSpecOptions? options = null)
    {
        var o = options ?? new DataSpecOptions();
        if (string.IsNullOrWhiteSpace(spec))
            throw new ProteaException("no data given: give 'fashion-mnist', a directory of class folders or a .csv file", "data");
        if (o.ImageSize is { } size && (size < 1 || size > MaxImageSize))
            throw new ProteaException($"image size {size}: must be between 1 and {MaxImageSize}", "image_size");
        if (o.Channels is { } c && c != 1 && c != 3)
            throw new ProteaException($"channels {c}: must be 1 (grayscale) or 3 (RGB)", "channels");
        if (o.Classes is not null)
            ClassSubset.Parse(o.Classes); // the writing is checked now, the names once the data is read

        DataSourceKind kind;
        string path = spec;
        if (string.Equals(spec, FashionMnistName, StringComparison.OrdinalIgnoreCase))
            (kind, path) = (DataSourceKind.FashionMnist, FashionMnistDataset.DefaultDirectory);
        else if (Directory.Exists(spec))
            kind = DataSourceKind.ImageFolder;
        else if (File.Exists(spec) && string.Equals(System.IO.Path.GetExtension(spec), ".csv", StringComparison.OrdinalIgnoreCase))
            kind = DataSourceKind.Csv;
        else
        {
            var why = File.Exists(spec) ? " (it is a file without the .csv extension)" : " (no such file or directory)";
            throw new ProteaException($"{spec}: not '{FashionMnistName}', a directory of class folders or a .csv file{why}", "data");
        }

        if (kind != DataSourceKind.Csv && o.LabelColumn is not null)
            throw new ProteaException($"label column '{o.LabelColumn}': only CSV data has a label column; {spec} takes labels from its layout", "label_column");
        if (kind != DataSourceKind.Csv && o.IdColumn is not null)
            throw new ProteaException($"id column '{o.IdColumn}': only CSV data has an id column; {spec} names its images by their paths", "id_column");
        if (kind != DataSourceKind.Csv && o.Categorical is not null)
            throw new ProteaException($"categorical columns '{o.Categorical}': only CSV data has columns; {spec} holds images", CategoricalEncoding.Field);
        if (o.Categorical is not null)
            CategoricalEncoding.ParseDeclaration(o.Categorical);
        if (kind == DataSourceKind.Csv && (o.ImageSize is not null || o.Channels is not null))
            throw new ProteaException($"{spec}: image size and channels apply to images, not to CSV data", o.ImageSize is not null ? "image_size" : "channels");
        return new DataSpec(kind, path, o.LabelColumn, o.ImageSize, o.Channels) { IdColumn = o.IdColumn, Classes = o.Classes, Categorical = o.Categorical };
    }

    private ClassSubset? Subset => Classes is null ? null : ClassSubset.Parse(Classes);

    /// <summary>Reads the data set as <see cref="Loading"/> says; user mistakes in the data throw <see cref="ProteaException"/>.</summary>
    public DataSplits Load() => Load(Loading);

    /// <summary>
    /// Reads the data set as <paramref name="options"/> say: image folders through the decoded cache, held in
    /// memory when they fit the memory budget, else streamed (<see cref="Dataset.IsStreamed"/>). Other kinds
    /// are read into memory whatever the options.
    /// </summary>
    public DataSplits Load(DataLoadOptions options) => Kind switch
    {
        DataSourceKind.FashionMnist => Select(FashionMnistDataset.Load(Path, ImageSize, Channels)),
        DataSourceKind.ImageFolder => ImageFolderReader.Load(Path, ImageSize, Channels, Subset, options),
        DataSourceKind.Csv => Select(CsvReader.Read(Path, LabelColumn, IdColumn, Encoding is null ? Categorical : null, Encoding).ToSplits()),
        _ => throw new InvalidOperationException($"unknown data source kind {Kind}"),
    };

    /// <summary>
    /// What evaluation runs on: the source's own test split when it has one, else all of it. Reads
    /// only the test split where the source keeps it apart (Fashion-MNIST, a folder with <c>test/</c>).
    /// </summary>
    public (Dataset Data, bool IsTestSplit) LoadEvaluationSet() => LoadEvaluationSet(Loading);

    /// <summary>As <see cref="LoadEvaluationSet()"/>, image folders read as <paramref name="options"/> say (see <see cref="Load(DataLoadOptions)"/>).</summary>
    public (Dataset Data, bool IsTestSplit) LoadEvaluationSet(DataLoadOptions options)
    {
        switch (Kind)
        {
            case DataSourceKind.FashionMnist:
                return (Select(new DataSplits(FashionMnistDataset.LoadTest(Path, ImageSize, Channels), null)).Train, true);
            case DataSourceKind.ImageFolder:
                return ImageFolderReader.LoadEvaluationSet(Path, ImageSize, Channels, Subset, options);
            default:
                return (Load().Train, false);
        }
    }

    /// <summary>The class subset applied to data read whole; <paramref name="splits"/> is disposed when a subset replaces it.</summary>
    private DataSplits Select(DataSplits splits)
    {
        if (Subset is not { } subset) return splits;
        try
        {
            return splits.SelectClasses(subset);
        }
        finally
        {
            splits.Dispose();
        }
    }

    public override string ToString() => Kind == DataSourceKind.FashionMnist ? FashionMnistName : Path;
}

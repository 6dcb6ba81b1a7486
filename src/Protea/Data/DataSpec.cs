namespace Protea.Data;

/// <summary>
/// A parsed <c>--data</c> argument: the built-in <c>fashion-mnist</c>, a directory of class folders
/// (optionally split into <c>train/</c> and <c>test/</c>), or a CSV file with a label column.
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

    /// <summary>Largest accepted <c>--image-size</c>; beyond this a preloaded data set would not fit in memory anyway.</summary>
    public const int MaxImageSize = 4096;

    public static DataSpec Parse(string spec, string? labelColumn = null, int? imageSize = null, int? channels = null)
    {
        if (string.IsNullOrWhiteSpace(spec))
            throw new ProteaException("--data is empty: give 'fashion-mnist', a directory of class folders or a .csv file");
        if (imageSize is { } size && (size < 1 || size > MaxImageSize))
            throw new ProteaException($"--image-size {size}: must be between 1 and {MaxImageSize}");
        if (channels is { } c && c != 1 && c != 3)
            throw new ProteaException($"--channels {c}: must be 1 (grayscale) or 3 (RGB)");

        DataSpec parsed;
        if (string.Equals(spec, FashionMnistName, StringComparison.OrdinalIgnoreCase))
            parsed = new DataSpec(DataSourceKind.FashionMnist, FashionMnistDataset.DefaultDirectory, labelColumn, imageSize, channels);
        else if (Directory.Exists(spec))
            parsed = new DataSpec(DataSourceKind.ImageFolder, spec, labelColumn, imageSize, channels);
        else if (File.Exists(spec) && string.Equals(System.IO.Path.GetExtension(spec), ".csv", StringComparison.OrdinalIgnoreCase))
            parsed = new DataSpec(DataSourceKind.Csv, spec, labelColumn, imageSize, channels);
        else
        {
            var why = File.Exists(spec) ? " (it is a file without the .csv extension)" : " (no such file or directory)";
            throw new ProteaException($"--data {spec}: not '{FashionMnistName}', a directory of class folders or a .csv file{why}");
        }

        if (parsed.Kind != DataSourceKind.Csv && labelColumn is not null)
            throw new ProteaException($"--label {labelColumn}: only CSV data has a label column; --data {spec} takes labels from its layout");
        if (parsed.Kind == DataSourceKind.Csv && (imageSize is not null || channels is not null))
            throw new ProteaException($"--data {spec}: --image-size and --channels apply to images, not to CSV data");
        return parsed;
    }

    /// <summary>Reads the whole data set into memory; user mistakes in the data throw <see cref="ProteaException"/>.</summary>
    public DataSplits Load() => Kind switch
    {
        DataSourceKind.FashionMnist => FashionMnistDataset.Load(Path, ImageSize, Channels),
        DataSourceKind.ImageFolder => ImageFolderReader.Load(Path, ImageSize, Channels),
        DataSourceKind.Csv => CsvReader.Read(Path, LabelColumn).ToSplits(),
        _ => throw new InvalidOperationException($"unknown data source kind {Kind}"),
    };

    /// <summary>
    /// What evaluation runs on: the source's own test split when it has one, else all of it. Reads
    /// only the test files where the source keeps them apart (Fashion-MNIST).
    /// </summary>
    public (Dataset Data, bool IsTestSplit) LoadEvaluationSet()
    {
        if (Kind == DataSourceKind.FashionMnist)
            return (FashionMnistDataset.LoadTest(Path, ImageSize, Channels), true);
        var splits = Load();
        if (splits.Test is null)
            return (splits.Train, false);
        splits.Train.Dispose();
        return (splits.Test, true);
    }

    public override string ToString() => Kind == DataSourceKind.FashionMnist ? FashionMnistName : Path;
}

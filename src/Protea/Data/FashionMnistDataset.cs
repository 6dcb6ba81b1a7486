using static TorchSharp.torch;

namespace Protea.Data;

/// <summary>
/// The built-in data set: Zalando's Fashion-MNIST (60 000 training and 10 000 test 28x28 grayscale images
/// of 10 clothing classes) as installed by Debian's dataset-fashion-mnist package.
/// </summary>
public static class FashionMnistDataset
{
    public const string DefaultDirectory = "/usr/share/datasets/fashion-mnist";
    public const int Side = 28;

    /// <summary>Class names in label order, as published with the data set.</summary>
    public static IReadOnlyList<string> ClassNames { get; } =
        ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"];

    /// <summary>
    /// Loads the official train and test sets. <paramref name="imageSize"/> and <paramref name="channels"/>
    /// resize (bilinear, antialiased) and replicate the gray channel, for backbones that expect RGB or larger inputs.
    /// </summary>
    public static DataSplits Load(string directory = DefaultDirectory, int? imageSize = null, int? channels = null)
    {
        if (channels is { } c && c != 1 && c != 3)
            throw new ArgumentOutOfRangeException(nameof(channels), c, "must be 1 or 3");
        if (imageSize is < 1)
            throw new ArgumentOutOfRangeException(nameof(imageSize), imageSize, "must be at least 1");
        var train = LoadSplit(directory, "train", "train", imageSize, channels);
        try
        {
            var test = LoadSplit(directory, "t10k", "test", imageSize, channels);
            return new DataSplits(train, test);
        }
        catch
        {
            train.Dispose();
            throw;
        }
    }

    /// <summary>Only the official 10,000-image test set (what evaluation needs), without reading the training set.</summary>
    public static Dataset LoadTest(string directory = DefaultDirectory, int? imageSize = null, int? channels = null) =>
        LoadSplit(directory, "t10k", "test", imageSize, channels);

    /// <summary>One split; each image's id is the split and its index in the official file ("train/12345", "test/17").</summary>
    private static Dataset LoadSplit(string directory, string prefix, string split, int? imageSize, int? channels)
    {
        var imagesPath = Find(directory, $"{prefix}-images-idx3-ubyte");
        var labelsPath = Find(directory, $"{prefix}-labels-idx1-ubyte");
        var (images, labels) = IdxReader.Read(imagesPath, labelsPath);
        for (int i = 0; i < labels.Length; i++)
            if (labels[i] >= ClassNames.Count)
            {
                images.Dispose();
                throw new ProteaException(
                    $"{labelsPath}: label {labels[i]} of example {i} is not a Fashion-MNIST class (0..{ClassNames.Count - 1})");
            }
        var conformed = Conform(images, imageSize, channels);
        var ids = Enumerable.Range(0, labels.Length).Select(i => $"{split}/{i}").ToArray();
        return new Dataset(conformed, labels, ClassNames, InputKind.Image, imagesPath, ids);
    }

    private static string Find(string directory, string baseName)
    {
        var gz = Path.Combine(directory, baseName + ".gz");
        if (File.Exists(gz)) return gz;
        var raw = Path.Combine(directory, baseName);
        if (File.Exists(raw)) return raw;
        throw new ProteaException(
            $"fashion-mnist: {gz} not found; install Debian's dataset-fashion-mnist package (scripts/setup does)");
    }

    /// <summary>Resizes and/or replicates channels of uint8 [N, 1, H, W]; disposes the input when it returns a new tensor.</summary>
    private static Tensor Conform(Tensor images, int? imageSize, int? channels)
    {
        long side = images.shape[2];
        bool resize = imageSize is { } s && (s != images.shape[2] || s != images.shape[3]);
        int outChannels = channels ?? 1;
        if (!resize && outChannels == 1)
            return images;

        long outSide = imageSize ?? side;
        var result = empty([images.shape[0], outChannels, outSide, outSide], ScalarType.Byte);
        const long chunk = 4096; // bounds the float temporaries to a few tens of MB
        for (long start = 0; start < images.shape[0]; start += chunk)
        {
            using var scope = NewDisposeScope();
            var part = images.narrow(0, start, Math.Min(chunk, images.shape[0] - start));
            if (resize)
            {
                var x = part.to_type(ScalarType.Float32);
                x = nn.functional.interpolate(x, [outSide, outSide], mode: InterpolationMode.Bilinear,
                    align_corners: false, antialias: outSide < side);
                part = x.round().clamp(0, 255).to_type(ScalarType.Byte);
            }
            result.narrow(0, start, part.shape[0]).copy_(part.expand(-1, outChannels, -1, -1));
        }
        images.Dispose();
        return result;
    }
}

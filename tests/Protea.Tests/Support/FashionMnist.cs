using System.IO.Compression;
using static TorchSharp.torch;

namespace Protea.Tests.Support;

/// <summary>
/// Debian's dataset-fashion-mnist (installed by scripts/setup), plus a deliberately naive reader of its
/// first images, independent of the product's IDX reader, for tests that need real pictures.
/// </summary>
public static class FashionMnist
{
    public const string Directory = "/usr/share/datasets/fashion-mnist";
    public static string TestImages => System.IO.Path.Combine(Directory, "t10k-images-idx3-ubyte.gz");
    public static string TestLabels => System.IO.Path.Combine(Directory, "t10k-labels-idx1-ubyte.gz");
    public static string TrainImages => System.IO.Path.Combine(Directory, "train-images-idx3-ubyte.gz");
    public static string TrainLabels => System.IO.Path.Combine(Directory, "train-labels-idx1-ubyte.gz");

    /// <summary>The first <paramref name="count"/> official test images as uint8 [count, 1, 28, 28] and their labels.</summary>
    public static (Tensor Images, long[] Labels) FirstTestImages(int count) => First(TestImages, TestLabels, count);

    /// <summary>The first <paramref name="count"/> training images as uint8 [count, 1, 28, 28] and their labels.</summary>
    public static (Tensor Images, long[] Labels) FirstTrainImages(int count) => First(TrainImages, TrainLabels, count);

    public static readonly string[] ClassNames =
        ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"];

    /// <summary>A <see cref="Protea.Data.Dataset"/> of the first training or test images.</summary>
    public static Protea.Data.Dataset Dataset(int count, bool train = true)
    {
        var (images, labels) = train ? FirstTrainImages(count) : FirstTestImages(count);
        return new Protea.Data.Dataset(images, labels, ClassNames, Protea.Data.InputKind.Image, train ? TrainImages : TestImages);
    }

    private static (Tensor Images, long[] Labels) First(string imagesPath, string labelsPath, int count)
    {
        var pixels = ReadGz(imagesPath).AsSpan(16, count * 28 * 28).ToArray();
        var labels = ReadGz(labelsPath).AsSpan(8, count).ToArray().Select(b => (long)b).ToArray();
        return (tensor(pixels, [count, 1, 28, 28]), labels);
    }

    private static byte[] ReadGz(string path)
    {
        using var gz = new GZipStream(File.OpenRead(path), CompressionMode.Decompress);
        using var ms = new MemoryStream();
        gz.CopyTo(ms);
        return ms.ToArray();
    }
}

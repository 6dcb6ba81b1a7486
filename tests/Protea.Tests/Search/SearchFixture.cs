using Protea.Data;
using Protea.Models;
using Protea.Tests.Support;
using SkiaSharp;
using static TorchSharp.torch;

namespace Protea.Tests.Search;

/// <summary>A fresh (untrained) cnn saved to a folder, and a small image folder of Fashion-MNIST images in class folders.</summary>
internal static class SearchFixture
{
    public static string SaveModel(string dir, int seed)
    {
        manual_seed(seed);
        var description = new ModelDescription
        {
            Architecture = "cnn", Head = "linear", InputKind = InputKind.Image, InputShape = [1, 28, 28],
            ClassNames = FashionMnist.ClassNames, Normalization = new InputNormalization([0.286], [0.353], 1 / 255.0),
        };
        using var bundle = new ModelBundle(description, Architectures.Create(description));
        bundle.Model.eval();
        bundle.Save(dir);
        return dir;
    }

    /// <summary>DIR/train/CLASS/NN.png and DIR/test/CLASS/NN.png for the first <paramref name="count"/> test images; returns the train files.</summary>
    public static List<string> WriteImageFolder(string dir, int count)
    {
        var (images, labels) = FashionMnist.FirstTestImages(count);
        using var _ = images;
        var files = new List<string>();
        for (var i = 0; i < count; i++)
        {
            var pixels = images[i, 0].data<byte>().ToArray();
            var split = i % 4 == 3 ? "test" : "train";
            var path = Path.Combine(dir, split, FashionMnist.ClassNames[labels[i]].Replace('/', '-'), $"{i:000}.png");
            TestImages.Write(path, 28, 28, (x, y) => new SKColor(pixels[y * 28 + x], pixels[y * 28 + x], pixels[y * 28 + x]), gray: true);
            if (split == "train") files.Add(path);
        }
        return files;
    }
}

using Protea.Data;
using Protea.Tests.Support;
using SkiaSharp;
using static TorchSharp.torch;

namespace Protea.Tests.Data;

public sealed class ImageFolderReaderTests
{
    private static readonly SKColor Orange = new(200, 100, 50);

    private static string Solid(string path, int side, SKColor color, bool gray = false, SKEncodedImageFormat format = SKEncodedImageFormat.Png) =>
        TestImages.Write(path, side, side, (_, _) => color, gray, format);

    private static byte[] Plane(Tensor images, long index, long channel) => images[index, channel].data<byte>().ToArray();

    [Fact]
    public void Load_MixedGrayAndRgb_SortsClassesAndKeepsExactPngPixels()
    {
        using var dir = new TempDir();
        // Precondition for the channel default: the gray PNG really is stored as grayscale.
        var grayPath = Solid(dir.File("dog/b.png"), 4, new SKColor(128, 128, 128), gray: true);
        Assert.True(ImageDecoder.Probe(grayPath)!.IsGray);
        Solid(dir.File("dog/a.png"), 4, Orange);
        Solid(dir.File("cat/only.jpg"), 4, Orange, format: SKEncodedImageFormat.Jpeg);
        File.WriteAllText(dir.File("cat/notes.txt"), "not an image, skipped");
        File.WriteAllText(dir.File("cat/.hidden.png"), "hidden files are skipped even when broken");

        using var splits = ImageFolderReader.Load(dir.Path);
        var data = splits.Train;
        Assert.Null(splits.Test);
        Assert.Equal(new[] { "cat", "dog" }, data.ClassNames);
        Assert.Equal(new long[] { 3, 3, 4, 4 }, data.Inputs.shape);
        Assert.Equal(new long[] { 0, 1, 1 }, data.Labels);
        Assert.Equal(dir.Path, data.Source);

        // cat/only.jpg: lossy, near the colour. dog/a.png: exact RGB. dog/b.png: gray replicated into three channels.
        Assert.All(Plane(data.Inputs, 0, 0), v => Assert.InRange(v, 196, 204));
        Assert.All(Plane(data.Inputs, 1, 0), v => Assert.Equal(200, v));
        Assert.All(Plane(data.Inputs, 1, 1), v => Assert.Equal(100, v));
        Assert.All(Plane(data.Inputs, 1, 2), v => Assert.Equal(50, v));
        for (int c = 0; c < 3; c++)
            Assert.All(Plane(data.Inputs, 2, c), v => Assert.Equal(128, v));
    }

    [Fact]
    public void Load_AllGray_DefaultsToOneChannel()
    {
        using var dir = new TempDir();
        Solid(dir.File("a/1.png"), 3, new SKColor(7, 7, 7), gray: true);
        Solid(dir.File("b/1.jpg"), 3, new SKColor(240, 240, 240), gray: true, format: SKEncodedImageFormat.Jpeg);
        using var splits = ImageFolderReader.Load(dir.Path);
        Assert.Equal(new long[] { 2, 1, 3, 3 }, splits.Train.Inputs.shape);
        Assert.All(Plane(splits.Train.Inputs, 0, 0), v => Assert.Equal(7, v));
        Assert.All(Plane(splits.Train.Inputs, 1, 0), v => Assert.InRange(v, 237, 243));
    }

    [Fact]
    public void Load_OneChannelRequested_ConvertsRgbToGrayLikePil()
    {
        using var dir = new TempDir();
        Solid(dir.File("a/1.png"), 2, Orange);
        var pil = int.Parse(Python.Run("""
            from PIL import Image
            print(Image.new('RGB', (2, 2), (200, 100, 50)).convert('L').getpixel((0, 0)))
            """).Trim());
        using var splits = ImageFolderReader.Load(dir.Path, channels: 1);
        Assert.Equal(new long[] { 1, 1, 2, 2 }, splits.Train.Inputs.shape);
        Assert.All(Plane(splits.Train.Inputs, 0, 0), v => Assert.Equal(pil, v));
    }

    [Fact]
    public void Load_DifferentSizesWithoutImageSize_AsksForImageSize()
    {
        using var dir = new TempDir();
        Solid(dir.File("a/1.png"), 4, Orange);
        Solid(dir.File("b/1.png"), 6, Orange);
        var e = Assert.Throws<ProteaException>(() => ImageFolderReader.Load(dir.Path));
        Assert.Equal("image_size", e.Field);
        Assert.Contains("give an image size N", e.Message);
        Assert.Contains("4x4", e.Message);
        Assert.Contains("6x6", e.Message);
    }

    [Fact]
    public void Load_WithImageSize_ResizesUpAndDownKeepingSolidColours()
    {
        using var dir = new TempDir();
        Solid(dir.File("a/small.png"), 3, Orange);
        Solid(dir.File("b/large.png"), 40, new SKColor(10, 220, 90));
        using var splits = ImageFolderReader.Load(dir.Path, imageSize: 8);
        var x = splits.Train.Inputs;
        Assert.Equal(new long[] { 2, 3, 8, 8 }, x.shape);
        byte[][] expected = [[200, 100, 50], [10, 220, 90]];
        for (int i = 0; i < 2; i++)
            for (int c = 0; c < 3; c++)
                Assert.All(Plane(x, i, c), v => Assert.Equal(expected[i][c], v));
    }

    [Fact]
    public void Load_DownscalesFineDetailByAveragingNotAliasing()
    {
        // A 1-pixel checkerboard shrunk 3.2x must average to mid-gray. Plain bilinear or point sampling reads
        // just 2x2 source pixels per output and would give values spread between 0 and 255.
        using var dir = new TempDir();
        TestImages.Write(dir.File("a/check.png"), 16, 16, (x, y) => (x + y) % 2 == 0 ? SKColors.Black : SKColors.White, gray: true);
        using var splits = ImageFolderReader.Load(dir.Path, imageSize: 5);
        Assert.Equal(new long[] { 1, 1, 5, 5 }, splits.Train.Inputs.shape);
        Assert.All(Plane(splits.Train.Inputs, 0, 0), v => Assert.InRange(v, 115, 140));
    }

    [Fact]
    public void Load_FilesInSortedNameOrder_RecognisedByContentNotExtension()
    {
        using var dir = new TempDir();
        Solid(dir.File("a/b.png"), 2, new SKColor(2, 2, 2));
        Solid(dir.File("a/10.png"), 2, new SKColor(10, 10, 10));
        Solid(dir.File("a/a.dat"), 2, new SKColor(1, 1, 1)); // a PNG under an odd name still counts
        Solid(dir.File("a/c.png"), 2, new SKColor(3, 3, 3), format: SKEncodedImageFormat.Jpeg); // a JPEG named .png
        using var splits = ImageFolderReader.Load(dir.Path, channels: 3);
        var firstPixels = Enumerable.Range(0, 4).Select(i => splits.Train.Inputs[i, 0, 0, 0].item<byte>()).ToArray();
        Assert.Equal(10, firstPixels[0]); // "10.png" < "a.dat" < "b.png" < "c.png" ordinally
        Assert.Equal(1, firstPixels[1]);
        Assert.Equal(2, firstPixels[2]);
        Assert.InRange(firstPixels[3], 0, 8);
    }

    [Fact]
    public void Load_TrainAndTestFolders_ShareSortedUnionOfClassNames()
    {
        using var dir = new TempDir();
        Solid(dir.File("train/dog/1.png"), 2, SKColors.White);
        Solid(dir.File("train/cat/1.png"), 2, SKColors.White);
        Solid(dir.File("train/cat/2.png"), 2, SKColors.White);
        Solid(dir.File("test/bird/1.png"), 2, SKColors.White);
        Solid(dir.File("test/dog/1.png"), 2, SKColors.White);
        using var splits = ImageFolderReader.Load(dir.Path);
        Assert.Equal(new[] { "bird", "cat", "dog" }, splits.Train.ClassNames);
        Assert.Equal(new[] { "bird", "cat", "dog" }, splits.Test!.ClassNames);
        Assert.Equal(new long[] { 1, 1, 2 }, splits.Train.Labels);
        Assert.Equal(new long[] { 0, 2 }, splits.Test.Labels);
        Assert.Equal(Path.Combine(dir.Path, "train"), splits.Train.Source);
        Assert.Equal(Path.Combine(dir.Path, "test"), splits.Test.Source);
    }

    [Fact]
    public void Load_TrainBesideClassFolder_IsAnError()
    {
        using var dir = new TempDir();
        Solid(dir.File("train/dog/1.png"), 2, SKColors.White);
        Solid(dir.File("cat/1.png"), 2, SKColors.White);
        var e = Assert.Throws<ProteaException>(() => ImageFolderReader.Load(dir.Path));
        Assert.Contains("'cat'", e.Message);
    }

    [Fact]
    public void Load_CorruptImageFile_NamesTheFile()
    {
        using var dir = new TempDir();
        Solid(dir.File("cat/good.png"), 2, SKColors.White);
        File.WriteAllText(dir.File("cat/x.png"), "this is text, not a picture");
        var e = Assert.Throws<ProteaException>(() => ImageFolderReader.Load(dir.Path));
        Assert.Equal($"{Path.Combine(dir.Path, "cat", "x.png")}: not a PNG or JPEG image (cannot decode)", e.Message);
    }

    [Fact]
    public void Load_TruncatedPng_NamesTheFile()
    {
        using var dir = new TempDir();
        var path = TestImages.Write(dir.File("cat/cut.png"), 64, 64, (x, y) => new SKColor((byte)(x * 4), (byte)(y * 4), (byte)(x ^ y)));
        var bytes = File.ReadAllBytes(path);
        File.WriteAllBytes(path, bytes[..(bytes.Length / 2)]);
        var e = Assert.Throws<ProteaException>(() => ImageFolderReader.Load(dir.Path));
        Assert.Equal($"{path}: truncated image (the file ends before the last pixel row)", e.Message);
    }

    [Fact]
    public void Load_EmptyClassFolder_IsAnError()
    {
        using var dir = new TempDir();
        Solid(dir.File("cat/1.png"), 2, SKColors.White);
        Directory.CreateDirectory(dir.File("dog"));
        File.WriteAllText(dir.File("dog/readme.txt"), "no images here");
        var e = Assert.Throws<ProteaException>(() => ImageFolderReader.Load(dir.Path));
        Assert.Equal($"{dir.File("dog")}: class folder holds no PNG or JPEG images; add some or remove the folder", e.Message);
    }

    [Fact]
    public void Load_EmptyDirectory_AsksForClassFolders()
    {
        using var dir = new TempDir();
        var e = Assert.Throws<ProteaException>(() => ImageFolderReader.Load(dir.Path));
        Assert.Contains($"{dir.Path}: no class folders", e.Message);
    }

    [Fact]
    public void Decode_SingleFile_ResizesToRequestedShape()
    {
        using var dir = new TempDir();
        var path = Solid(dir.File("one.png"), 5, Orange);
        using var image = ImageDecoder.Decode(path, channels: 3, height: 7, width: 9);
        Assert.Equal(new long[] { 3, 7, 9 }, image.shape);
        Assert.All(image[2].data<byte>().ToArray(), v => Assert.Equal(50, v));
    }

    [Fact]
    public void Decode_MissingFile_SaysSo()
    {
        using var dir = new TempDir();
        var path = dir.File("gone.png");
        var e = Assert.Throws<ProteaException>(() => ImageDecoder.Decode(path, 1, 4, 4));
        Assert.Equal($"{path}: no such file", e.Message);
    }
}

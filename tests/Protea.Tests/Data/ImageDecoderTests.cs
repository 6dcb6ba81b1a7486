using Protea.Data;
using Protea.Tests.Support;
using SkiaSharp;
using static TorchSharp.torch;

namespace Protea.Tests.Data;

public sealed class ImageDecoderTests
{
    private static string WriteImage(TempDir dir, string name, SKEncodedImageFormat format, bool gray)
    {
        var random = new Random(name.Length);
        var noise = Enumerable.Range(0, 23 * 17 * 3).Select(_ => (byte)random.Next(256)).ToArray();
        return TestImages.Write(dir.File(name), 23, 17, (x, y) =>
            new SKColor(noise[3 * (y * 23 + x)], noise[3 * (y * 23 + x) + 1], noise[3 * (y * 23 + x) + 2]), gray, format);
    }

    /// <summary>An upload's bytes (or a stream of them) decode to exactly the tensor its file does, through every resize and channel conversion.</summary>
    [Theory]
    [InlineData("a.png", SKEncodedImageFormat.Png, false, 3, 17, 23)] // as stored
    [InlineData("b.png", SKEncodedImageFormat.Png, false, 1, 8, 8)]   // shrink, RGB to luma
    [InlineData("c.jpg", SKEncodedImageFormat.Jpeg, false, 3, 40, 31)] // enlarge
    [InlineData("d.png", SKEncodedImageFormat.Png, true, 3, 12, 12)]   // gray to RGB
    public void Decode_FromBytesAndStream_EqualsDecodeFromPath(string name, SKEncodedImageFormat format, bool gray, int channels, int height, int width)
    {
        using var dir = new TempDir();
        var path = WriteImage(dir, name, format, gray);
        var bytes = File.ReadAllBytes(path);
        using var fromPath = ImageDecoder.Decode(path, channels, height, width);
        using var fromBytes = ImageDecoder.Decode(bytes, "upload", channels, height, width);
        using var stream = new MemoryStream(bytes);
        using var fromStream = ImageDecoder.Decode(stream, "upload", channels, height, width);
        Assert.Equal([channels, height, width], fromBytes.shape);
        Assert.Equal(fromPath.data<byte>().ToArray(), fromBytes.data<byte>().ToArray());
        Assert.Equal(fromPath.data<byte>().ToArray(), fromStream.data<byte>().ToArray());
        // Not a vacuous comparison: the image has real content.
        using var spread = fromPath.to(float32).std();
        Assert.True(spread.item<float>() > 10);
    }

    [Fact]
    public void DecodeMany_FromBytes_EqualsDecodeManyFromPaths()
    {
        using var dir = new TempDir();
        var paths = new[] { WriteImage(dir, "x.png", SKEncodedImageFormat.Png, false), WriteImage(dir, "yy.jpg", SKEncodedImageFormat.Jpeg, false) };
        using var fromPaths = ImageDecoder.DecodeMany(paths, 3, 10, 10);
        using var fromBytes = ImageDecoder.DecodeMany(paths.Select(p => (ReadOnlyMemory<byte>)File.ReadAllBytes(p)).ToList(), ["x", "yy"], 3, 10, 10);
        Assert.Equal(fromPaths.data<byte>().ToArray(), fromBytes.data<byte>().ToArray());
    }

    [Fact]
    public void Decode_BytesThatAreNotAnImage_NamesTheUpload()
    {
        var e = Assert.Throws<ProteaException>(() => ImageDecoder.Decode("plain text"u8, "notes.png", 1, 4, 4));
        Assert.Equal("notes.png: not a PNG or JPEG image (cannot decode)", e.Message);
        e = Assert.Throws<ProteaException>(() => ImageDecoder.Decode(ReadOnlySpan<byte>.Empty, "empty.png", 1, 4, 4));
        Assert.Contains("empty.png: empty", e.Message);
    }
}

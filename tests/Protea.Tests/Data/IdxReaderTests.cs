using System.Buffers.Binary;
using System.IO.Compression;
using Protea.Data;
using Protea.Tests.Support;

namespace Protea.Tests.Data;

public sealed class IdxReaderTests
{
    // Three 2x3 images with distinct pixels, and their labels, written by hand below.
    private static readonly byte[] Pixels = [0, 1, 2, 3, 4, 5, 10, 20, 30, 40, 50, 60, 255, 254, 253, 252, 251, 250];
    private static readonly byte[] LabelBytes = [7, 0, 9];

    private static byte[] ImagesFile(int count, int height, int width, byte[] payload, int magic = 0x00000803)
    {
        var header = new byte[16];
        BinaryPrimitives.WriteInt32BigEndian(header.AsSpan(0), magic);
        BinaryPrimitives.WriteInt32BigEndian(header.AsSpan(4), count);
        BinaryPrimitives.WriteInt32BigEndian(header.AsSpan(8), height);
        BinaryPrimitives.WriteInt32BigEndian(header.AsSpan(12), width);
        return [.. header, .. payload];
    }

    private static byte[] LabelsFile(int count, byte[] payload)
    {
        var header = new byte[8];
        BinaryPrimitives.WriteInt32BigEndian(header.AsSpan(0), 0x00000801);
        BinaryPrimitives.WriteInt32BigEndian(header.AsSpan(4), count);
        return [.. header, .. payload];
    }

    private static string Write(TempDir dir, string name, byte[] content, bool gzip)
    {
        var path = dir.File(name);
        if (!gzip)
        {
            File.WriteAllBytes(path, content);
            return path;
        }
        using var file = File.Create(path);
        using var gz = new GZipStream(file, CompressionLevel.Fastest);
        gz.Write(content);
        return path;
    }

    private static ProteaException ReadImagesError(byte[] content, string name = "t10k-images.gz", bool gzip = true)
    {
        using var dir = new TempDir();
        var path = Write(dir, name, content, gzip);
        return Assert.Throws<ProteaException>(() => IdxReader.ReadImages(path).Dispose());
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void Read_ValidFiles_ReturnsExactPixelsAndLabels(bool gzip)
    {
        using var dir = new TempDir();
        var images = Write(dir, "images.idx", ImagesFile(3, 2, 3, Pixels), gzip);
        var labels = Write(dir, "labels.idx", LabelsFile(3, LabelBytes), gzip);

        var (tensor, read) = IdxReader.Read(images, labels);
        using (tensor)
        {
            Assert.Equal(new long[] { 3, 1, 2, 3 }, tensor.shape);
            Assert.Equal(TorchSharp.torch.ScalarType.Byte, tensor.dtype);
            Assert.Equal(Pixels, tensor.data<byte>().ToArray());
            // Row-major [N, 1, H, W]: image 1 starts at byte 6, image 2 at byte 12 (row 1 at +3).
            Assert.Equal(30, tensor[1, 0, 0, 2].item<byte>());
            Assert.Equal(252, tensor[2, 0, 1, 0].item<byte>());
        }
        Assert.Equal(new long[] { 7, 0, 9 }, read);
    }

    [Fact]
    public void ReadImages_BadMagic_NamesFileAndMagic()
    {
        var e = ReadImagesError(ImagesFile(3, 2, 3, Pixels, magic: 0x00000903));
        Assert.Contains("t10k-images.gz", e.Message);
        Assert.Contains("magic number 0x00000903", e.Message);
        Assert.Contains("expected 0x00000803", e.Message);
    }

    [Fact]
    public void ReadImages_GivenLabelFile_SaysTheFilesAreSwapped()
    {
        using var dir = new TempDir();
        var path = Write(dir, "labels.gz", LabelsFile(3, LabelBytes), gzip: true);
        var e = Assert.Throws<ProteaException>(() => IdxReader.ReadImages(path).Dispose());
        Assert.Contains("labels.gz", e.Message);
        Assert.Contains("swapped", e.Message);
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void ReadImages_TruncatedFile_NamesFileAndProblem(bool gzip)
    {
        var e = ReadImagesError(ImagesFile(3, 2, 3, Pixels[..13]), gzip: gzip);
        Assert.EndsWith("/t10k-images.gz: truncated: header says 3 images of 2x3 (18 bytes) but only 13 bytes follow", e.Message);
    }

    [Fact]
    public void ReadImages_TrailingBytes_NamesFileAndProblem()
    {
        var e = ReadImagesError(ImagesFile(3, 2, 3, [.. Pixels, 1, 2]));
        Assert.Contains("t10k-images.gz", e.Message);
        Assert.Contains("trailing data", e.Message);
        Assert.Contains("20 bytes follow (2 too many)", e.Message);
    }

    [Fact]
    public void ReadImages_HeaderCutShort_SaysTruncated()
    {
        var e = ReadImagesError(ImagesFile(3, 2, 3, Pixels)[..10]);
        Assert.Contains("t10k-images.gz: truncated: only 10 bytes", e.Message);
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void ReadImages_EmptyFile_SaysEmpty(bool gzip)
    {
        var e = ReadImagesError([], gzip: gzip);
        Assert.Contains("t10k-images.gz: empty file", e.Message);
    }

    [Fact]
    public void ReadImages_CorruptGzip_NamesFile()
    {
        var gz = new MemoryStream();
        using (var z = new GZipStream(gz, CompressionLevel.Fastest, leaveOpen: true))
            z.Write(ImagesFile(3, 2, 3, Pixels));
        var bytes = gz.ToArray();
        for (int i = 10; i < bytes.Length - 8; i++) bytes[i] ^= 0x5a; // scramble the deflate body, keep the gzip magic
        var e = ReadImagesError(bytes, gzip: false);
        Assert.Contains("t10k-images.gz: corrupt gzip data", e.Message);
    }

    [Fact]
    public void Read_CountMismatch_NamesBothFilesAndCounts()
    {
        using var dir = new TempDir();
        var images = Write(dir, "images.gz", ImagesFile(3, 2, 3, Pixels), gzip: true);
        var labels = Write(dir, "labels.gz", LabelsFile(2, LabelBytes[..2]), gzip: true);
        var e = Assert.Throws<ProteaException>(() => IdxReader.Read(images, labels));
        Assert.Contains("images.gz: holds 3 images", e.Message);
        Assert.Contains("labels.gz holds 2 labels", e.Message);
    }

    [Fact]
    public void ReadLabels_Truncated_NamesFileAndCounts()
    {
        using var dir = new TempDir();
        var labels = Write(dir, "t10k-labels.gz", LabelsFile(5, LabelBytes), gzip: true);
        var e = Assert.Throws<ProteaException>(() => IdxReader.ReadLabels(labels));
        Assert.EndsWith("t10k-labels.gz: truncated: header says 5 labels (5 bytes) but only 3 bytes follow", e.Message);
    }
}

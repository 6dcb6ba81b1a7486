using System.Buffers.Binary;
using System.IO.Compression;
using static TorchSharp.torch;

namespace Protea.Data;

/// <summary>
/// Reads IDX files (the MNIST / Fashion-MNIST format: big-endian header, then raw uint8 values),
/// gzip-compressed or raw. The whole file is read into one byte[] and copied into a tensor once,
/// so the 60 000 training images load in a fraction of a second.
/// </summary>
public static class IdxReader
{
    /// <summary>Magic of an unsigned-byte (0x08) array with 3 dimensions: [N, H, W] images.</summary>
    public const int ImagesMagic = 0x00000803;

    /// <summary>Magic of an unsigned-byte (0x08) array with 1 dimension: [N] labels.</summary>
    public const int LabelsMagic = 0x00000801;

    /// <summary>Images as uint8 [N, 1, H, W] and their labels; fails unless both files hold the same number of examples.</summary>
    public static (Tensor Images, long[] Labels) Read(string imagesPath, string labelsPath)
    {
        var images = ParseImages(imagesPath);
        var labels = ReadLabels(labelsPath);
        if (images.Count != labels.Length)
            throw new ProteaException(
                $"{imagesPath}: holds {images.Count} images but {labelsPath} holds {labels.Length} labels; the two files must come from the same set");
        return (images.ToTensor(), labels);
    }

    /// <summary>An IDX image file as uint8 [N, 1, H, W].</summary>
    public static Tensor ReadImages(string path) => ParseImages(path).ToTensor();

    public static long[] ReadLabels(string path)
    {
        var (data, length) = ReadAllBytes(path);
        var dims = ReadHeader(path, data, length, LabelsMagic, "label");
        long n = dims[0];
        CheckPayload(path, length - 8, n, $"{n} labels ({n} bytes)");
        var labels = new long[n];
        for (int i = 0; i < n; i++) labels[i] = data[8 + i];
        return labels;
    }

    private static ImagePayload ParseImages(string path)
    {
        var (data, length) = ReadAllBytes(path);
        var dims = ReadHeader(path, data, length, ImagesMagic, "image");
        long n = dims[0], h = dims[1], w = dims[2];
        if (h == 0 || w == 0)
            throw new ProteaException($"{path}: header says images are {h}x{w}; both sides must be at least 1");
        long expected = n * h * w;
        CheckPayload(path, length - 16, expected, $"{n} images of {h}x{w} ({expected} bytes)");
        return new ImagePayload(data, n, h, w);
    }

    /// <summary>Checks the magic and returns the dimension sizes; <paramref name="what"/> is "image" or "label".</summary>
    private static long[] ReadHeader(string path, byte[] data, int length, int magic, string what)
    {
        int rank = magic & 0xff;
        int headerBytes = 4 + 4 * rank;
        if (length == 0)
            throw new ProteaException($"{path}: empty file; expected an IDX {what} file");
        if (length < 4)
            throw new ProteaException($"{path}: truncated: only {length} bytes, not even the 4-byte IDX magic number");

        int found = BinaryPrimitives.ReadInt32BigEndian(data.AsSpan(0, 4));
        if (found != magic)
        {
            var hint = found == (magic == ImagesMagic ? LabelsMagic : ImagesMagic)
                ? $" (it is an IDX {(magic == ImagesMagic ? "label" : "image")} file; are the image and label files swapped?)"
                : "";
            throw new ProteaException(
                $"{path}: not an IDX {what} file: magic number 0x{found:x8}, expected 0x{magic:x8}{hint}");
        }
        if (length < headerBytes)
            throw new ProteaException(
                $"{path}: truncated: only {length} bytes, the IDX {what} header needs {headerBytes}");

        var dims = new long[rank];
        for (int d = 0; d < rank; d++)
        {
            int size = BinaryPrimitives.ReadInt32BigEndian(data.AsSpan(4 + 4 * d, 4));
            if (size < 0)
                throw new ProteaException($"{path}: corrupt header: dimension {d} has negative size {size}");
            dims[d] = size;
        }
        if (dims[0] == 0)
            throw new ProteaException($"{path}: header says the file holds 0 {what}s");
        return dims;
    }

    private static void CheckPayload(string path, long actual, long expected, string declared)
    {
        if (actual < expected)
            throw new ProteaException($"{path}: truncated: header says {declared} but only {actual} bytes follow");
        if (actual > expected)
            throw new ProteaException(
                $"{path}: trailing data: header says {declared} but {actual} bytes follow ({actual - expected} too many)");
    }

    /// <summary>The file's bytes, gunzipped when it starts with the gzip magic 1f 8b; valid bytes are [0, length).</summary>
    private static (byte[] Data, int Length) ReadAllBytes(string path)
    {
        byte[] raw;
        try
        {
            raw = File.ReadAllBytes(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new ProteaException($"{path}: cannot read: {e.Message}");
        }
        if (raw.Length < 2 || raw[0] != 0x1f || raw[1] != 0x8b)
            return (raw, raw.Length);

        try
        {
            // The gzip trailer stores the uncompressed size mod 2^32: a good first capacity, never trusted as a limit.
            int hint = raw.Length >= 18 ? BinaryPrimitives.ReadInt32LittleEndian(raw.AsSpan(raw.Length - 4)) : 0;
            using var output = new MemoryStream(hint > 0 && hint < 1 << 30 ? hint : raw.Length * 4);
            using (var gzip = new GZipStream(new MemoryStream(raw), CompressionMode.Decompress))
                gzip.CopyTo(output);
            return (output.GetBuffer(), checked((int)output.Length));
        }
        catch (InvalidDataException e)
        {
            throw new ProteaException($"{path}: corrupt gzip data: {e.Message}");
        }
    }

    private sealed record ImagePayload(byte[] Data, long Count, long Height, long Width)
    {
        public Tensor ToTensor()
        {
            var images = empty([Count, 1, Height, Width], ScalarType.Byte);
            images.bytes = Data.AsSpan(16, checked((int)(Count * Height * Width)));
            return images;
        }
    }
}

using System.Runtime.InteropServices;
using SkiaSharp;
using static TorchSharp.torch;

namespace Protea.Data;

/// <summary>What an image file's header says, read without decoding its pixels.</summary>
public sealed record ImageHeader(string Path, int Width, int Height, bool IsGray);

/// <summary>
/// Decodes PNG/JPEG (also WebP, BMP, GIF) files, byte arrays or streams with SkiaSharp into uint8
/// [C, H, W], resizing and converting to the requested channel count. The content decides what it is,
/// not a file extension; a path and its bytes decode to the same pixels. JPEGs (files named .jpg/.jpeg,
/// uploads by content) are decoded by the system's SIMD libjpeg-turbo (<see cref="TurboJpeg"/>) when it
/// is installed, about twice as fast as SkiaSharp's own; SkiaSharp still resizes them, and decodes
/// those libjpeg-turbo does not take (CMYK, damaged files: their errors read as before).
/// </summary>
public static class ImageDecoder
{
    private static readonly HashSet<SKEncodedImageFormat> Accepted =
        [SKEncodedImageFormat.Png, SKEncodedImageFormat.Jpeg, SKEncodedImageFormat.Webp, SKEncodedImageFormat.Bmp, SKEncodedImageFormat.Gif];

    private static readonly HashSet<string> ImageExtensions =
        new([".png", ".jpg", ".jpeg", ".jpe", ".jfif", ".webp", ".bmp", ".gif"], StringComparer.OrdinalIgnoreCase);

    /// <summary>True when the name promises an image, so failing to decode it is an error rather than a skip.</summary>
    public static bool HasImageExtension(string path) => ImageExtensions.Contains(System.IO.Path.GetExtension(path));

    /// <summary>
    /// The header of an image file, or null when its content is not an accepted image format.
    /// Formats with weak signatures (WBMP, ICO) are refused: arbitrary binary files can pass for them.
    /// </summary>
    public static ImageHeader? Probe(string path)
    {
        using var codec = SKCodec.Create(path, out _);
        if (codec is null || !Accepted.Contains(codec.EncodedFormat) || codec.Info.Width < 1 || codec.Info.Height < 1)
            return null;
        return new ImageHeader(path, codec.Info.Width, codec.Info.Height, codec.Info.ColorType == SKColorType.Gray8);
    }

    /// <summary>One image as uint8 [channels, height, width].</summary>
    public static Tensor Decode(string path, int channels, int height, int width)
    {
        var buffer = new byte[channels * height * width];
        DecodeInto(path, channels, height, width, buffer);
        return AsTensor(buffer, channels, height, width);
    }

    /// <summary>
    /// One image held in memory (an upload) as uint8 [channels, height, width]; <paramref name="name"/>
    /// stands for it in messages.
    /// </summary>
    public static Tensor Decode(ReadOnlySpan<byte> encoded, string name, int channels, int height, int width)
    {
        var buffer = new byte[channels * height * width];
        DecodeInto(encoded, name, channels, height, width, buffer);
        return AsTensor(buffer, channels, height, width);
    }

    /// <summary>One image read to its end from <paramref name="stream"/>, as <see cref="Decode(ReadOnlySpan{byte}, string, int, int, int)"/>.</summary>
    public static Tensor Decode(Stream stream, string name, int channels, int height, int width) =>
        Decode(ReadAll(stream), name, channels, height, width);

    private static Tensor AsTensor(byte[] buffer, int channels, int height, int width)
    {
        var image = empty([channels, height, width], ScalarType.Byte);
        image.bytes = buffer;
        return image;
    }

    /// <summary>Many images as uint8 [N, channels, height, width], decoded in parallel, stored in the given order.</summary>
    public static Tensor DecodeMany(IReadOnlyList<string> paths, int channels, int height, int width) =>
        DecodeMany(paths.Count, (i, buffer) => DecodeInto(paths[i], channels, height, width, buffer), channels, height, width);

    /// <summary>
    /// Many images held in memory as uint8 [N, channels, height, width]; <paramref name="names"/>[i] stands
    /// for image i in messages.
    /// </summary>
    public static Tensor DecodeMany(IReadOnlyList<ReadOnlyMemory<byte>> encoded, IReadOnlyList<string> names, int channels, int height, int width)
    {
        if (encoded.Count != names.Count)
            throw new ArgumentException($"{encoded.Count} images but {names.Count} names", nameof(names));
        return DecodeMany(encoded.Count, (i, buffer) => DecodeInto(encoded[i].Span, names[i], channels, height, width, buffer), channels, height, width);
    }

    private static Tensor DecodeMany(int count, Action<int, byte[]> decodeInto, int channels, int height, int width)
    {
        int size = channels * height * width;
        var images = empty([count, channels, height, width], ScalarType.Byte);
        var errors = new ProteaException?[count];
        Parallel.For(0, count, () => new byte[size], (i, _, buffer) =>
        {
            try
            {
                decodeInto(i, buffer);
                using var slot = images[i];
                slot.bytes = buffer;
            }
            catch (ProteaException e)
            {
                errors[i] = e;
            }
            return buffer;
        }, _ => { });
        // Report the first bad file in input order, whatever order the threads met them in.
        if (errors.FirstOrDefault(e => e is not null) is { } first)
        {
            images.Dispose();
            throw first;
        }
        return images;
    }

    /// <summary>Decodes into <paramref name="destination"/> (channels·height·width bytes, channel-major).</summary>
    public static void DecodeInto(string path, int channels, int height, int width, Span<byte> destination)
    {
        CheckChannels(channels);
        if (UseTurboJpeg && JpegExtensions.Contains(System.IO.Path.GetExtension(path)) && ReadSmallFile(path) is { } encoded
            && TryDecodeJpeg(encoded.Span, path, channels, height, width, destination))
            return;
        using var codec = SKCodec.Create(path, out _);
        if (codec is null && !File.Exists(path))
            throw new ProteaException($"{path}: no such file");
        DecodeInto(codec, path, channels, height, width, destination);
    }

    /// <summary>Decodes an image held in memory into <paramref name="destination"/> (channels·height·width bytes, channel-major).</summary>
    public static void DecodeInto(ReadOnlySpan<byte> encoded, string name, int channels, int height, int width, Span<byte> destination)
    {
        CheckChannels(channels);
        if (encoded.IsEmpty)
            throw new ProteaException($"{name}: empty; expected a PNG or JPEG image");
        if (UseTurboJpeg && TryDecodeJpeg(encoded, name, channels, height, width, destination))
            return;
        using var data = SKData.CreateCopy(encoded);
        using var codec = SKCodec.Create(data);
        DecodeInto(codec, name, channels, height, width, destination);
    }

    private static readonly HashSet<string> JpegExtensions = new([".jpg", ".jpeg", ".jpe", ".jfif"], StringComparer.OrdinalIgnoreCase);

    /// <summary>
    /// False where JPEGs are decoded with SkiaSharp: libturbojpeg is missing, the environment says
    /// <c>PROTEA_JPEG_DECODER=skia</c>, or a test forced it with <see cref="ForceSkia"/>.
    /// </summary>
    public static bool UseTurboJpeg => !SkiaByEnvironment && !ForceSkia.Value && TurboJpeg.IsAvailable;

    private static readonly bool SkiaByEnvironment =
        string.Equals(Environment.GetEnvironmentVariable("PROTEA_JPEG_DECODER"), "skia", StringComparison.OrdinalIgnoreCase);

    /// <summary>Set to true to decode JPEGs with SkiaSharp in this async flow (tests compare the two decoders).</summary>
    internal static readonly AsyncLocal<bool> ForceSkia = new();

    /// <summary>
    /// A JPEG (by content) decoded by libturbojpeg at its own size into this thread's RGBA buffer, then
    /// resized and split into planes as SkiaSharp's pixels would be. False, having written nothing the
    /// caller relies on, for anything libturbojpeg does not take (not a JPEG, CMYK, damaged or truncated):
    /// the SkiaSharp path then decodes it or reports it as it always has.
    /// </summary>
    private static bool TryDecodeJpeg(ReadOnlySpan<byte> encoded, string path, int channels, int height, int width, Span<byte> destination)
    {
        if (!TurboJpeg.TryReadHeader(encoded, out int sourceWidth, out int sourceHeight))
            return false;
        var sourceInfo = new SKImageInfo(sourceWidth, sourceHeight, SKColorType.Rgba8888, SKAlphaType.Unpremul);
        var decodedBuffer = PixelBuffer(0, sourceInfo.BytesSize);
        using var decodedHandle = decodedBuffer is null ? new SKBitmap(sourceInfo) : null;
        var decoded = decodedBuffer is null ? decodedHandle!.GetPixelSpan() : decodedBuffer.AsSpan(0, sourceInfo.BytesSize);
        if (!TurboJpeg.TryDecodeRgba(encoded, sourceWidth, sourceHeight, decoded))
            return false;
        var decodedPixels = decodedHandle?.GetPixels() ?? Marshal.UnsafeAddrOfPinnedArrayElement(decodedBuffer!, 0);
        FromRgba(sourceInfo, decodedPixels, decoded, path, channels, height, width, destination);
        return true;
    }

    /// <summary>
    /// A file's bytes, in this thread's reused buffer when it is small; null when it cannot be read (the
    /// SkiaSharp path then reports it with today's message).
    /// </summary>
    private static ReadOnlyMemory<byte>? ReadSmallFile(string path)
    {
        try
        {
            using var handle = File.OpenHandle(path);
            long length = RandomAccess.GetLength(handle);
            if (length < 4 || length > int.MaxValue) return null;
            var buffer = PixelBuffer(2, (int)length) ?? GC.AllocateUninitializedArray<byte>((int)length);
            int read = 0;
            while (read < length)
            {
                int n = RandomAccess.Read(handle, buffer.AsSpan(read, (int)length - read), read);
                if (n == 0) break;
                read += n;
            }
            return buffer.AsMemory(0, read);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return null;
        }
    }

    private static void CheckChannels(int channels)
    {
        if (channels != 1 && channels != 3)
            throw new ArgumentOutOfRangeException(nameof(channels), channels, "must be 1 or 3");
    }

    private static byte[] ReadAll(Stream stream)
    {
        using var copy = new MemoryStream();
        stream.CopyTo(copy);
        return copy.ToArray();
    }

    /// <summary>The decoding shared by files and memory: <paramref name="path"/> names the source in messages.</summary>
    private static void DecodeInto(SKCodec? codec, string path, int channels, int height, int width, Span<byte> destination)
    {
        if (codec is null || !Accepted.Contains(codec.EncodedFormat))
            throw new ProteaException($"{path}: not a PNG or JPEG image (cannot decode)");

        // Unpremultiplied RGBA without a colour space: pixel values come out as stored, like PIL's convert("RGB"),
        // which drops alpha rather than blending it onto a background.
        var sourceInfo = new SKImageInfo(codec.Info.Width, codec.Info.Height, SKColorType.Rgba8888, SKAlphaType.Unpremul);
        // Decoded into a buffer this thread reuses (small images; a fresh SKBitmap per image costs a third of a
        // 96x96 JPEG's decode), else into one of its own.
        var decodedBuffer = PixelBuffer(0, sourceInfo.BytesSize);
        var decodedHandle = decodedBuffer is null ? new SKBitmap(sourceInfo) : null;
        try
        {
            var decodedPixels = decodedHandle?.GetPixels() ?? Marshal.UnsafeAddrOfPinnedArrayElement(decodedBuffer!, 0);
            var result = codec.GetPixels(sourceInfo, decodedPixels);
            if (result == SKCodecResult.IncompleteInput)
                throw new ProteaException($"{path}: truncated image (the file ends before the last pixel row)");
            if (result != SKCodecResult.Success)
                throw new ProteaException($"{path}: not a PNG or JPEG image (cannot decode: {result})");
            FromRgba(sourceInfo, decodedPixels, decodedBuffer ?? decodedHandle!.GetPixelSpan(), path, channels, height, width, destination);
        }
        finally
        {
            decodedHandle?.Dispose();
        }
    }

    /// <summary>
    /// Decoded RGBA pixels (<paramref name="decodedPixels"/> is their address, <paramref name="decoded"/> the
    /// same memory) resized to width x height when they differ, then split into channel planes.
    /// </summary>
    private static void FromRgba(SKImageInfo sourceInfo, IntPtr decodedPixels, ReadOnlySpan<byte> decoded, string path,
        int channels, int height, int width, Span<byte> destination)
    {
        if (sourceInfo.Width == width && sourceInfo.Height == height)
        {
            CopyPlanes(decoded, channels, width * height, destination);
            return;
        }
        var targetInfo = new SKImageInfo(width, height, SKColorType.Rgba8888, SKAlphaType.Unpremul);
        var resizedBuffer = PixelBuffer(1, targetInfo.BytesSize);
        using var resizedHandle = resizedBuffer is null ? new SKBitmap(targetInfo) : null;
        using var source = new SKPixmap(sourceInfo, decodedPixels);
        using var target = new SKPixmap(targetInfo, resizedHandle?.GetPixels() ?? Marshal.UnsafeAddrOfPinnedArrayElement(resizedBuffer!, 0));
        if (!source.ScalePixels(target, SamplingFor(sourceInfo.Width, sourceInfo.Height, width, height)))
            throw new InvalidOperationException($"{path}: SkiaSharp could not resize {sourceInfo.Width}x{sourceInfo.Height} to {width}x{height}");
        CopyPlanes(resizedBuffer ?? resizedHandle!.GetPixelSpan(), channels, width * height, destination);
    }

    /// <summary>Largest RGBA image a thread keeps a decoding buffer for (1 megapixel); larger ones get a bitmap each.</summary>
    private const int ReusedBufferBytes = 4 << 20;

    [ThreadStatic] private static byte[]?[]? pixelBuffers;

    /// <summary>This thread's pinned buffer <paramref name="slot"/> (0: decoded, 1: resized, 2: a file's bytes) of at least <paramref name="bytes"/>, or null when too large to keep.</summary>
    private static byte[]? PixelBuffer(int slot, int bytes)
    {
        if (bytes > ReusedBufferBytes) return null;
        var buffers = pixelBuffers ??= new byte[]?[3];
        if (buffers[slot] is not { } buffer || buffer.Length < bytes)
            buffers[slot] = buffer = GC.AllocateUninitializedArray<byte>(Math.Max(bytes, 64 << 10), pinned: true);
        return buffer;
    }

    /// <summary>
    /// Shrinking reads from mipmaps (trilinear) so thin lines do not alias away; enlarging uses
    /// Mitchell's cubic, the usual compromise between blur and ringing.
    /// </summary>
    private static SKSamplingOptions SamplingFor(int fromWidth, int fromHeight, int toWidth, int toHeight) =>
        toWidth < fromWidth || toHeight < fromHeight
            ? new SKSamplingOptions(SKFilterMode.Linear, SKMipmapMode.Linear)
            : new SKSamplingOptions(SKCubicResampler.Mitchell);

    /// <summary>
    /// RGBA interleaved to channel planes. One channel is ITU-R 601 luma in PIL's fixed point
    /// (Convert.c, L24: weights sum to 65536, so gray pixels stay exactly themselves).
    /// </summary>
    private static void CopyPlanes(ReadOnlySpan<byte> rgba, int channels, int pixelCount, Span<byte> destination)
    {
        if (channels == 3 && BitConverter.IsLittleEndian)
        {
            // One 32-bit load per pixel (R in the low byte), each plane its own span: no bounds checks in the loop.
            var pixels = MemoryMarshal.Cast<byte, uint>(rgba[..(4 * pixelCount)]);
            var red = destination[..pixelCount];
            var green = destination.Slice(pixelCount, pixelCount);
            var blue = destination.Slice(2 * pixelCount, pixelCount);
            for (int p = 0; p < pixels.Length && p < red.Length && p < green.Length && p < blue.Length; p++)
            {
                var v = pixels[p];
                red[p] = (byte)v;
                green[p] = (byte)(v >> 8);
                blue[p] = (byte)(v >> 16);
            }
        }
        else if (channels == 3)
        {
            for (int p = 0; p < pixelCount; p++)
            {
                destination[p] = rgba[4 * p];
                destination[pixelCount + p] = rgba[4 * p + 1];
                destination[2 * pixelCount + p] = rgba[4 * p + 2];
            }
        }
        else
        {
            for (int p = 0; p < pixelCount; p++)
                destination[p] = (byte)((rgba[4 * p] * 19595 + rgba[4 * p + 1] * 38470 + rgba[4 * p + 2] * 7471 + 0x8000) >> 16);
        }
    }
}

using System.Runtime.InteropServices;

namespace Protea.Data;

/// <summary>
/// JPEG decoding through the system's libjpeg-turbo (Debian's <c>libturbojpeg0</c>, <c>libturbojpeg.so.0</c>),
/// which is built with SIMD; SkiaSharp's bundled copy is not (jsimd_none) and decodes about 2x slower.
/// The library is looked for once, on first use; where it is missing <see cref="IsAvailable"/> is false
/// and callers decode with SkiaSharp. Decoding uses libjpeg's defaults, the accurate integer DCT and
/// fancy upsampling, as PIL does, so pixels equal PIL's. Only plain YCbCr, RGB and grayscale JPEGs
/// are taken: CMYK/YCCK files and anything libjpeg reports a problem with, even a warning (a truncated
/// or damaged file), return false so the caller's SkiaSharp path decides what to do with them.
/// </summary>
public static class TurboJpeg
{
    private const string Library = "libturbojpeg.so.0";

    // TurboJPEG's enums (turbojpeg.h, libjpeg-turbo 2.x).
    private const int PixelFormatRgba = 7; // TJPF_RGBA: alpha set to 0xFF
    private const int ColorspaceCmyk = 3, ColorspaceYcck = 4;

    private static readonly Lazy<bool> Loaded = new(TryLoad);

    /// <summary>True when libturbojpeg could be loaded (checked once, on first use).</summary>
    public static bool IsAvailable => Loaded.Value;

    /// <summary>True when <paramref name="encoded"/> starts with a JPEG's SOI marker and the next marker's lead byte.</summary>
    public static bool LooksLikeJpeg(ReadOnlySpan<byte> encoded) =>
        encoded.Length > 3 && encoded[0] == 0xFF && encoded[1] == 0xD8 && encoded[2] == 0xFF;

    /// <summary>
    /// The width and height of a JPEG this decoder takes (not CMYK/YCCK, header readable); false for
    /// anything else, or when the library is missing.
    /// </summary>
    public static bool TryReadHeader(ReadOnlySpan<byte> encoded, out int width, out int height)
    {
        width = height = 0;
        if (!IsAvailable || !LooksLikeJpeg(encoded)) return false;
        var handle = Decompressor.ForThisThread();
        if (tjDecompressHeader3(handle.Handle, ref MemoryMarshal.GetReference(encoded), new CULong((nuint)encoded.Length),
                out width, out height, out _, out int colorspace) != 0)
            return false;
        return colorspace != ColorspaceCmyk && colorspace != ColorspaceYcck && width > 0 && height > 0;
    }

    /// <summary>
    /// Decodes a JPEG at its own size into <paramref name="rgba"/>, <paramref name="width"/>·<paramref name="height"/>
    /// RGBA pixels (alpha 255) of 4 bytes, rows packed; the size must be the one <see cref="TryReadHeader"/> gave.
    /// False, with the buffer's content undefined, when libjpeg reports an error or a warning.
    /// </summary>
    public static bool TryDecodeRgba(ReadOnlySpan<byte> encoded, int width, int height, Span<byte> rgba)
    {
        if ((long)rgba.Length < 4L * width * height)
            throw new ArgumentException($"{rgba.Length} bytes cannot hold {width}x{height} RGBA pixels", nameof(rgba));
        if (!IsAvailable || !LooksLikeJpeg(encoded)) return false;
        var handle = Decompressor.ForThisThread();
        // Flags 0: accurate DCT, fancy upsampling. TurboJPEG 2.x returns -1 for warnings too (truncated data).
        return tjDecompress2(handle.Handle, ref MemoryMarshal.GetReference(encoded), new CULong((nuint)encoded.Length),
            ref MemoryMarshal.GetReference(rgba), width, 4 * width, height, PixelFormatRgba, 0) == 0;
    }

    /// <summary>The library's message for this thread's last failure (for diagnostics), or null.</summary>
    public static string? LastError() =>
        IsAvailable ? Marshal.PtrToStringUTF8(tjGetErrorStr2(Decompressor.ForThisThread().Handle)) : null;

    private static bool TryLoad()
    {
        if (!NativeLibrary.TryLoad(Library, typeof(TurboJpeg).Assembly, null, out _))
            return false;
        try
        {
            // Resolve the entry points now, so a library without them counts as missing rather than failing later.
            var handle = tjInitDecompress();
            if (handle == IntPtr.Zero) return false;
            _ = tjGetErrorStr2(handle);
            tjDestroy(handle);
            return true;
        }
        catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException or BadImageFormatException)
        {
            return false;
        }
    }

    /// <summary>A TurboJPEG decompressor, one per thread (a handle is not thread-safe), destroyed when its thread ends.</summary>
    private sealed class Decompressor : SafeHandle
    {
        [ThreadStatic] private static Decompressor? current;

        private Decompressor() : base(IntPtr.Zero, ownsHandle: true) => SetHandle(tjInitDecompress());

        public IntPtr Handle => handle;

        public override bool IsInvalid => handle == IntPtr.Zero;

        public static Decompressor ForThisThread()
        {
            var d = current ??= new Decompressor();
            if (d.IsInvalid) throw new InvalidOperationException("tjInitDecompress failed");
            return d;
        }

        protected override bool ReleaseHandle() => tjDestroy(handle) == 0;
    }

    [DllImport(Library)]
    private static extern IntPtr tjInitDecompress();

    [DllImport(Library)]
    private static extern int tjDecompressHeader3(IntPtr handle, ref byte jpegBuf, CULong jpegSize,
        out int width, out int height, out int jpegSubsamp, out int jpegColorspace);

    [DllImport(Library)]
    private static extern int tjDecompress2(IntPtr handle, ref byte jpegBuf, CULong jpegSize,
        ref byte dstBuf, int width, int pitch, int height, int pixelFormat, int flags);

    [DllImport(Library)]
    private static extern IntPtr tjGetErrorStr2(IntPtr handle);

    [DllImport(Library)]
    private static extern int tjDestroy(IntPtr handle);
}

using Protea.IO;

namespace Protea.Reports;

/// <summary>Writes encoded image bytes atomically, so a reader never sees half a PNG.</summary>
internal static class PngImage
{
    public static void Write(string path, byte[] png) => AtomicFile.Write(path, stream => stream.Write(png));

    public static void CheckSize(int width, int height)
    {
        if (width is < 100 or > 10_000 || height is < 100 or > 10_000)
            throw new ArgumentOutOfRangeException(nameof(width), $"plot size {width}x{height} px is outside 100..10000 px");
    }
}

using SkiaSharp;

namespace Protea.Tests.Support;

/// <summary>Writes small PNG/JPEG images with SkiaSharp for reader and CLI fixtures.</summary>
public static class TestImages
{
    public static string Write(string path, int width, int height, Func<int, int, SKColor> pixel, bool gray = false,
        SKEncodedImageFormat format = SKEncodedImageFormat.Png)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        var info = new SKImageInfo(width, height, gray ? SKColorType.Gray8 : SKColorType.Rgba8888, SKAlphaType.Opaque);
        using var bitmap = new SKBitmap(info);
        for (int y = 0; y < height; y++)
            for (int x = 0; x < width; x++)
                bitmap.SetPixel(x, y, pixel(x, y));
        using var data = bitmap.Encode(format, 100);
        File.WriteAllBytes(path, data.ToArray());
        return path;
    }
}

using Protea.Reports;
using SkiaSharp;

namespace Protea.Prototypes;

/// <summary>What the prototype panel and gallery draw with: images from uint8 [C, H, W], heat overlays, boxes and text.</summary>
internal static class PrototypeDrawing
{
    public const int Cell = 160, Pad = 10;
    public static readonly SKColor Ink = new(0x1f, 0x29, 0x37);
    public static readonly SKColor Activated = new(0xf5, 0x9e, 0x0b);
    public static readonly SKColor SourceBox = new(0x16, 0xa3, 0x4a);

    /// <summary>The image as an RGBA bitmap, with <paramref name="heat"/> (0..1 per pixel, or null) blended over it in a blue-to-red colour map.</summary>
    public static SKBitmap Bitmap(byte[] pixels, int channels, int height, int width, float[]? heat = null, double alpha = 0.45)
    {
        var bitmap = new SKBitmap(new SKImageInfo(width, height, SKColorType.Rgba8888, SKAlphaType.Premul));
        var plane = height * width;
        for (var y = 0; y < height; y++)
            for (var x = 0; x < width; x++)
            {
                var i = y * width + x;
                double r = pixels[i], g = pixels[channels == 3 ? plane + i : i], b = pixels[channels == 3 ? 2 * plane + i : i];
                if (heat is not null)
                {
                    var (hr, hg, hb) = Jet(heat[i]);
                    (r, g, b) = ((1 - alpha) * r + alpha * hr, (1 - alpha) * g + alpha * hg, (1 - alpha) * b + alpha * hb);
                }
                bitmap.SetPixel(x, y, new SKColor((byte)Math.Round(r), (byte)Math.Round(g), (byte)Math.Round(b)));
            }
        return bitmap;
    }

    /// <summary>A map scaled to 0..1 between its smallest and largest value.</summary>
    public static float[] Normalise(IReadOnlyList<float> map)
    {
        var (lo, hi) = (map.Min(), map.Max());
        return map.Select(v => hi > lo ? (v - lo) / (hi - lo) : 0f).ToArray();
    }

    public static float[] Normalise(byte[] map) => map.Select(v => v / 255f).ToArray();

    /// <summary>Draws the bitmap into a Cell x Cell square at (x, y) (nearest-neighbour scaling, aspect kept), with boxes in its pixels outlined.</summary>
    public static void Draw(SKCanvas canvas, SKBitmap bitmap, float x, float y, params (PatchBox Box, SKColor Color)[] boxes)
    {
        var scale = Math.Min((float)Cell / bitmap.Width, (float)Cell / bitmap.Height);
        float w = bitmap.Width * scale, h = bitmap.Height * scale;
        var (left, top) = (x + (Cell - w) / 2, y + (Cell - h) / 2);
        using var image = SKImage.FromBitmap(bitmap);
        canvas.DrawImage(image, SKRect.Create(left, top, w, h), new SKSamplingOptions(SKFilterMode.Nearest));
        foreach (var (box, color) in boxes)
        {
            using var stroke = new SKPaint { Color = color, Style = SKPaintStyle.Stroke, StrokeWidth = 2, IsAntialias = true };
            canvas.DrawRect(left + box.X0 * scale, top + box.Y0 * scale, box.Width * scale, box.Height * scale, stroke);
        }
    }

    /// <summary>The box's pixels of the image, as a bitmap.</summary>
    public static SKBitmap Crop(SKBitmap bitmap, PatchBox box)
    {
        var crop = new SKBitmap(new SKImageInfo(Math.Max(1, box.Width), Math.Max(1, box.Height), SKColorType.Rgba8888, SKAlphaType.Premul));
        bitmap.ExtractSubset(crop, new SKRectI(box.X0, box.Y0, box.X1, box.Y1));
        return crop;
    }

    public static void Empty(SKCanvas canvas, float x, float y, string note, SKFont font)
    {
        using var grey = new SKPaint { Color = new SKColor(0xe5, 0xe7, 0xeb) };
        canvas.DrawRect(x, y, Cell, Cell, grey);
        using var text = new SKPaint { Color = Ink, IsAntialias = true };
        canvas.DrawText(note, x + 6, y + Cell / 2f, SKTextAlign.Left, font, text);
    }

    public static SKFont Font(float size) => new(SKTypeface.FromFamilyName(PlotFonts.Sans), size);

    public static byte[] Encode(SKSurface surface)
    {
        using var image = surface.Snapshot();
        using var data = image.Encode(SKEncodedImageFormat.Png, 100);
        return data.ToArray();
    }

    private static (double R, double G, double B) Jet(float t)
    {
        static double C(double v) => 255 * Math.Clamp(v, 0, 1);
        return (C(1.5 - Math.Abs(4 * t - 3)), C(1.5 - Math.Abs(4 * t - 2)), C(1.5 - Math.Abs(4 * t - 1)));
    }
}

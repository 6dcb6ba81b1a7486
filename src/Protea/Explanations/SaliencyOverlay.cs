using Protea.Reports;
using SkiaSharp;

namespace Protea.Explanations;

/// <summary>
/// A PNG per explained image: the input, the heat map laid over it, and the heat map alone, each
/// scaled up to about 224 px (nearest neighbour, so pixels stay pixels), with the method and class under
/// them. For display only, the map is scaled to its own largest positive value; negative attributions
/// (gradient x input, Integrated Gradients) show as none.
/// </summary>
public static class SaliencyOverlay
{
    private const int Cell = 224, Caption = 36, Pad = 8;

    public static void Save(string path, byte[] image, int channels, Explanation e) => PngImage.Write(path, Render(image, channels, e));

    /// <param name="image">The raw input, channel-major uint8 [C, H, W].</param>
    public static byte[] Render(byte[] image, int channels, Explanation e)
    {
        int h = e.Height, w = e.Width;
        var max = e.Map.Max();
        var input = new SKColor[h * w];
        var heat = new SKColor[h * w];
        for (var i = 0; i < h * w; i++)
        {
            byte r = image[i], g = channels == 3 ? image[h * w + i] : r, b = channels == 3 ? image[2 * h * w + i] : r;
            input[i] = new SKColor(r, g, b);
            heat[i] = Colour(max > 0 ? Math.Clamp(e.Map[i] / max, 0, 1) : 0);
        }
        var width = 3 * Cell + 4 * Pad;
        var height = Cell + Caption + 2 * Pad;
        using var surface = SKSurface.Create(new SKImageInfo(width, height, SKColorType.Rgba8888, SKAlphaType.Premul));
        var canvas = surface.Canvas;
        canvas.Clear(SKColors.White);
        using var inputImage = Image(input, w, h);
        using var heatImage = Image(heat, w, h);
        var sampling = new SKSamplingOptions(SKFilterMode.Nearest);
        var scale = Math.Min((float)Cell / w, (float)Cell / h);
        SKRect Slot(int column) => SKRect.Create(Pad + column * (Cell + Pad) + (Cell - w * scale) / 2, Pad + (Cell - h * scale) / 2, w * scale, h * scale);
        canvas.DrawImage(inputImage, Slot(0), sampling);
        canvas.DrawImage(inputImage, Slot(1), sampling);
        using (var blend = new SKPaint { Color = SKColors.White.WithAlpha(140) })
            canvas.DrawImage(heatImage, Slot(1), sampling, blend);
        canvas.DrawImage(heatImage, Slot(2), sampling);
        using var font = new SKFont(SKTypeface.FromFamilyName(PlotFonts.Sans), 13);
        using var text = new SKPaint { Color = new SKColor(0x1f, 0x29, 0x37), IsAntialias = true };
        var p = e.Probability.ToString("0.000", System.Globalization.CultureInfo.InvariantCulture);
        canvas.DrawText($"{e.Method} for class {e.ClassName} (p = {p}{(e.ClassGiven ? ", chosen" : ", predicted")})", Pad, Pad + Cell + 18, SKTextAlign.Left, font, text);
        canvas.DrawText(Path.GetFileName(e.Input), Pad, Pad + Cell + 33, SKTextAlign.Left, font, text);
        using var snapshot = surface.Snapshot();
        using var data = snapshot.Encode(SKEncodedImageFormat.Png, 100);
        return data.ToArray();
    }

    private static SKImage Image(SKColor[] pixels, int w, int h)
    {
        using var bitmap = new SKBitmap(w, h, SKColorType.Rgba8888, SKAlphaType.Premul) { Pixels = pixels };
        return SKImage.FromBitmap(bitmap);
    }

    /// <summary>A perceptually ordered dark-blue -> red -> yellow ramp (close to "inferno").</summary>
    private static SKColor Colour(float v)
    {
        ReadOnlySpan<(float R, float G, float B)> stops = [(0, 0, 4), (87, 16, 110), (188, 55, 84), (249, 142, 9), (252, 255, 164)];
        var x = v * (stops.Length - 1);
        var i = Math.Min((int)x, stops.Length - 2);
        var t = x - i;
        return new SKColor((byte)(stops[i].R + t * (stops[i + 1].R - stops[i].R)), (byte)(stops[i].G + t * (stops[i + 1].G - stops[i].G)), (byte)(stops[i].B + t * (stops[i + 1].B - stops[i].B)));
    }
}

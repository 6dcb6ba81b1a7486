using Protea.Reports;
using SkiaSharp;

namespace Protea.Search;

/// <summary>
/// A PNG of one query and its hits in a row: the query first (outlined), then each hit with its label and
/// similarity under it. Images are read from their files (image-folder indexes keep each item's path).
/// </summary>
public static class SearchGrid
{
    private const int Cell = 128, Caption = 36, Pad = 8;

    public static void Save(string path, string queryFile, QueryResult result) => PngImage.Write(path, Render(queryFile, result));

    public static byte[] Render(string queryFile, QueryResult result)
    {
        var cells = 1 + result.Hits.Count;
        var width = Math.Max(100, cells * (Cell + Pad) + Pad);
        var height = Math.Max(100, Cell + Caption + 2 * Pad);
        var info = new SKImageInfo(width, height, SKColorType.Rgba8888, SKAlphaType.Premul);
        using var surface = SKSurface.Create(info);
        var canvas = surface.Canvas;
        canvas.Clear(SKColors.White);
        using var font = new SKFont(SKTypeface.FromFamilyName(PlotFonts.Sans), 12);
        using var text = new SKPaint { Color = new SKColor(0x1f, 0x29, 0x37), IsAntialias = true };
        using var outline = new SKPaint { Color = new SKColor(0x21, 0x71, 0xb5), Style = SKPaintStyle.Stroke, StrokeWidth = 3 };
        Draw(canvas, queryFile, 0, "query", "", font, text);
        canvas.DrawRect(Pad - 2, Pad - 2, Cell + 4, Cell + 4, outline);
        for (var i = 0; i < result.Hits.Count; i++)
        {
            var hit = result.Hits[i];
            Draw(canvas, hit.Path, i + 1, hit.Label ?? "(unlabelled)", hit.Similarity.ToString("0.000", System.Globalization.CultureInfo.InvariantCulture), font, text);
        }
        using var image = surface.Snapshot();
        using var data = image.Encode(SKEncodedImageFormat.Png, 100);
        return data.ToArray();
    }

    private static void Draw(SKCanvas canvas, string? file, int column, string line1, string line2, SKFont font, SKPaint text)
    {
        var x = Pad + column * (Cell + Pad);
        using (var bitmap = file is not null && File.Exists(file) ? SKBitmap.Decode(file) : null)
        {
            if (bitmap is not null)
            {
                var scale = Math.Min((float)Cell / bitmap.Width, (float)Cell / bitmap.Height);
                float w = bitmap.Width * scale, h = bitmap.Height * scale;
                using var img = SKImage.FromBitmap(bitmap);
                canvas.DrawImage(img, SKRect.Create(x + (Cell - w) / 2, Pad + (Cell - h) / 2, w, h), new SKSamplingOptions(SKFilterMode.Nearest));
            }
            else
            {
                using var missing = new SKPaint { Color = new SKColor(0xe5, 0xe7, 0xeb) };
                canvas.DrawRect(x, Pad, Cell, Cell, missing);
            }
        }
        canvas.DrawText(Fit(line1, font), x, Pad + Cell + 15, SKTextAlign.Left, font, text);
        canvas.DrawText(line2, x, Pad + Cell + 30, SKTextAlign.Left, font, text);
    }

    private static string Fit(string s, SKFont font)
    {
        if (font.MeasureText(s) <= Cell) return s;
        while (s.Length > 1 && font.MeasureText(s + "…") > Cell) s = s[..^1];
        return s + "…";
    }
}

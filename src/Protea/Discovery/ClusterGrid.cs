using Protea.Data;
using Protea.Reports;
using SkiaSharp;

namespace Protea.Discovery;

/// <summary>A PNG with one row per discovered cluster: its id, size and match, then its representative images (drawn from the data's tensors).</summary>
public static class ClusterGrid
{
    private const int Cell = 64, Pad = 6, LabelWidth = 150;

    public static void Save(string path, Dataset data, IReadOnlyList<DiscoveredCluster> clusters)
    {
        var rowOf = new Dictionary<string, int>();
        for (var i = 0; i < data.Count; i++) rowOf.TryAdd(data.Ids[i], i);
        var columns = Math.Max(1, clusters.Max(c => c.Representatives.Count));
        var width = Math.Max(100, LabelWidth + columns * (Cell + Pad) + Pad);
        var height = Math.Max(100, clusters.Count * (Cell + Pad) + Pad);
        PngImage.CheckSize(width, Math.Min(height, 10_000));
        var info = new SKImageInfo(width, Math.Min(height, 10_000), SKColorType.Rgba8888, SKAlphaType.Premul);
        using var surface = SKSurface.Create(info);
        var canvas = surface.Canvas;
        canvas.Clear(SKColors.White);
        using var font = new SKFont(SKTypeface.FromFamilyName(PlotFonts.Sans), 12);
        using var text = new SKPaint { Color = new SKColor(0x1f, 0x29, 0x37), IsAntialias = true };
        var shape = data.ExampleShape;
        int channels = (int)shape[0], h = (int)shape[1], w = (int)shape[2];
        for (var r = 0; r < clusters.Count; r++)
        {
            var c = clusters[r];
            var y = Pad + r * (Cell + Pad);
            canvas.DrawText($"cluster {c.Id}: {c.Matches}", Pad, y + 20, SKTextAlign.Left, font, text);
            canvas.DrawText($"{c.Size} unlabelled", Pad, y + 38, SKTextAlign.Left, font, text);
            for (var j = 0; j < c.Representatives.Count; j++)
            {
                if (!rowOf.TryGetValue(c.Representatives[j], out var item)) continue;
                using var one = data.Slice(item, 1);
                var pixels = one.contiguous().data<byte>().ToArray();
                using var bitmap = new SKBitmap(new SKImageInfo(w, h, SKColorType.Rgba8888, SKAlphaType.Premul));
                var rgba = new byte[w * h * 4];
                for (var p = 0; p < w * h; p++)
                {
                    for (var ch = 0; ch < 3; ch++) rgba[p * 4 + ch] = pixels[(channels == 1 ? 0 : ch) * w * h + p];
                    rgba[p * 4 + 3] = 255;
                }
                System.Runtime.InteropServices.Marshal.Copy(rgba, 0, bitmap.GetPixels(), rgba.Length);
                using var image = SKImage.FromBitmap(bitmap);
                canvas.DrawImage(image, SKRect.Create(LabelWidth + j * (Cell + Pad), y, Cell, Cell), new SKSamplingOptions(SKFilterMode.Nearest));
            }
        }
        using var snapshot = surface.Snapshot();
        using var encoded = snapshot.Encode(SKEncodedImageFormat.Png, 100);
        PngImage.Write(path, encoded.ToArray());
    }
}

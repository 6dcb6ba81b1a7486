using Protea.IO;
using SkiaSharp;

namespace Protea.Mil;

/// <summary>
/// Draws a bag's attention: the image in gray, each kept patch tinted red by its weight (scaled to the
/// bag's largest weight, overlapping patches keep the larger), the top patches outlined in yellow.
/// This is what `protea explain --method attention` writes.
/// </summary>
public static class AttentionMap
{
    /// <summary>
    /// The explainer call `protea explain --method attention` makes: for each image, the bag prediction
    /// and its attribution map over the image's pixels (<see cref="Attribution"/>).
    /// </summary>
    public static IReadOnlyList<(BagPrediction Prediction, float[] Map)> Explain(BagPredictor predictor, IReadOnlyList<string> images, int topPatches = 5) =>
        images.Select(path =>
        {
            var prediction = predictor.Predict(path, topPatches);
            return (prediction, Attribution(prediction));
        }).ToList();

    public static void Save(string imagePath, BagPrediction prediction, string outPath) =>
        AtomicFile.Write(outPath, s => s.Write(Render(imagePath, prediction)));

    /// <summary>
    /// One attribution value per pixel (0..1, row-major [Height, Width]): the weight of the strongest
    /// patch covering it, scaled to the bag's largest weight; 0 outside kept patches.
    /// </summary>
    public static float[] Attribution(BagPrediction p)
    {
        var map = new float[p.Width * p.Height];
        var max = p.Weights.Count == 0 ? 1 : Math.Max(p.Weights.Max(), 1e-12);
        for (var i = 0; i < p.Boxes.Count; i++)
        {
            var b = p.Boxes[i];
            var v = (float)(p.Weights[i] / max);
            for (var y = b.Y; y < b.Y + b.Height; y++)
                for (var x = b.X; x < b.X + b.Width; x++)
                    map[y * p.Width + x] = Math.Max(map[y * p.Width + x], v);
        }
        return map;
    }

    public static byte[] Render(string imagePath, BagPrediction p)
    {
        using var source = SKBitmap.Decode(imagePath) ?? throw new ProteaException($"{imagePath}: not a PNG or JPEG image (cannot decode)");
        if (source.Width != p.Width || source.Height != p.Height)
            throw new ArgumentException($"{imagePath} is {source.Width}x{source.Height}, the prediction was for {p.Width}x{p.Height}");
        var map = Attribution(p);
        using var canvasBitmap = new SKBitmap(p.Width, p.Height, SKColorType.Rgba8888, SKAlphaType.Premul);
        for (var y = 0; y < p.Height; y++)
            for (var x = 0; x < p.Width; x++)
            {
                var c = source.GetPixel(x, y);
                var gray = (byte)((c.Red * 299 + c.Green * 587 + c.Blue * 114) / 1000);
                var a = map[y * p.Width + x] * 0.6f;
                canvasBitmap.SetPixel(x, y, new SKColor((byte)(gray * (1 - a) + 255 * a), (byte)(gray * (1 - a)), (byte)(gray * (1 - a))));
            }
        using (var canvas = new SKCanvas(canvasBitmap))
        using (var pen = new SKPaint { Color = SKColors.Yellow, Style = SKPaintStyle.Stroke, StrokeWidth = Math.Max(1, p.Width / 224f) })
            foreach (var e in p.TopPatches)
                canvas.DrawRect(e.Box.X + 0.5f, e.Box.Y + 0.5f, e.Box.Width - 1, e.Box.Height - 1, pen);
        using var data = canvasBitmap.Encode(SKEncodedImageFormat.Png, 100);
        return data.ToArray();
    }
}

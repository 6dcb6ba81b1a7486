using System.Globalization;
using Protea.Predictions;
using Protea.Reports;
using SkiaSharp;
using static Protea.Prototypes.PrototypeDrawing;

namespace Protea.Prototypes;

/// <summary>
/// A PNG per input, "this part looks like that prototype of class C": one row per top prototype with
/// the input under the prototype's heat map and its most activated patch boxed (amber), the prototype's
/// source patch enlarged, and the source patch boxed (green) in its training image under the
/// prototype's activation there; beside them the similarity, the contribution to the logit and its share.
/// The prototypes' pictures come from the model folder (prototypes.safetensors), not from the training data.
/// </summary>
public static class PrototypePanel
{
    private const int TextWidth = 340, Header = 34;

    /// <summary>Writes the panel of one explanation (it must hold the input's pixels, as <see cref="PrototypeExplainer"/> gives them) atomically.</summary>
    public static void Write(PrototypeExplanation explanation, string path) => PngImage.Write(path, Render(explanation));

    /// <summary>The panel of a prediction whose evidence is prototypes, for the input <paramref name="pixels"/> (uint8 [C, H, W] as the model took it).</summary>
    public static void Write(Prediction prediction, byte[] pixels, int channels, string path)
    {
        var top = (prediction.Evidence ?? []).OfType<PrototypeEvidence>().ToArray();
        if (top.Length == 0) throw new ArgumentException("the prediction carries no prototype evidence", nameof(prediction));
        var logit = top[0].Share != 0 ? top[0].Contribution / top[0].Share : double.NaN;
        PngImage.Write(path, Render(new PrototypeExplanation(-1, prediction.Class, logit, top) { Pixels = pixels, Channels = channels, Input = prediction.Input }));
    }

    /// <summary>The PNG bytes: (Pad + 3 cells + text) wide, a header plus one row per prototype high.</summary>
    public static byte[] Render(PrototypeExplanation e)
    {
        if (e.Pixels is not { } pixels) throw new ArgumentException("the explanation holds no input pixels", nameof(e));
        if (e.Top.Count == 0) throw new ArgumentException("the explanation lists no prototypes", nameof(e));
        var (width, height) = Size(e.Top.Count);
        using var surface = SKSurface.Create(new SKImageInfo(width, height, SKColorType.Rgba8888, SKAlphaType.Premul));
        var canvas = surface.Canvas;
        canvas.Clear(SKColors.White);
        using var title = Font(15);
        using var font = Font(13);
        using var ink = new SKPaint { Color = Ink, IsAntialias = true };
        var inv = CultureInfo.InvariantCulture;
        canvas.DrawText($"{(e.Input is { } name ? Path.GetFileName(name) + ": " : "")}{e.PredictedName} (logit {e.Logit.ToString("F2", inv)})",
            Pad, 22, SKTextAlign.Left, title, ink);
        for (var r = 0; r < e.Top.Count; r++)
        {
            var p = e.Top[r];
            var y = Header + r * (Cell + Pad);
            using (var input = Bitmap(pixels, e.Channels, p.Height, p.Width, Normalise(p.HeatMap)))
                Draw(canvas, input, Pad, y, (p.ActivatedBox, Activated));
            if (p.Picture is { } picture && p.Source is { } source)
            {
                using var plain = Bitmap(picture.Image, e.Channels, p.Height, p.Width);
                using (var crop = Crop(plain, source.Box)) Draw(canvas, crop, Pad + Cell + Pad, y);
                using var shown = Bitmap(picture.Image, e.Channels, p.Height, p.Width, Normalise(picture.Activation), 0.3);
                Draw(canvas, shown, Pad + 2 * (Cell + Pad), y, (source.Box, SourceBox));
            }
            else
            {
                Empty(canvas, Pad + Cell + Pad, y, "no picture saved", font);
                Empty(canvas, Pad + 2 * (Cell + Pad), y, "no picture saved", font);
            }
            var x = Pad + 3 * (Cell + Pad);
            string[] lines =
            [
                "this part looks like",
                $"prototype {p.Prototype} of class {p.ClassName}",
                $"similarity {p.Similarity.ToString("F2", inv)}",
                $"contribution {p.Contribution.ToString("F2", inv)}",
                $"share of the logit {p.Share.ToString("P0", inv)}",
                p.Source is { } s ? $"from training item {s.ItemId}" : "not pushed",
                p.Source is { } b ? $"at ({b.Box.X0},{b.Box.Y0})-({b.Box.X1},{b.Box.Y1})" : "",
            ];
            for (var l = 0; l < lines.Length; l++)
                canvas.DrawText(Fit(lines[l], font), x, y + 18 + l * 20, SKTextAlign.Left, font, ink);
        }
        return Encode(surface);
    }

    /// <summary>The panel's size in pixels for <paramref name="rows"/> prototypes.</summary>
    public static (int Width, int Height) Size(int rows) => (Pad + 3 * (Cell + Pad) + TextWidth, Header + rows * (Cell + Pad));

    private static string Fit(string s, SKFont font)
    {
        if (font.MeasureText(s) <= TextWidth - Pad) return s;
        while (s.Length > 1 && font.MeasureText(s + "…") > TextWidth - Pad) s = s[..^1];
        return s + "…";
    }
}

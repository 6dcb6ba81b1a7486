using System.Globalization;
using System.Net;
using System.Text;
using Protea.IO;
using Protea.Models;
using Protea.Reports;
using SkiaSharp;
using static Protea.Prototypes.PrototypeDrawing;

namespace Protea.Prototypes;

/// <summary>What <see cref="PrototypeGalleryPage.Write"/> wrote: the index page and one PNG per prototype (file names relative to the folder).</summary>
public sealed record GalleryResult(string Index, IReadOnlyList<string> Pictures);

/// <summary>
/// A parts model's prototypes as a gallery readable offline: one PNG per prototype (its source training
/// image with the source patch boxed, beside the prototype's activation over that image) and
/// index.html (no external assets, relative links) grouped by class, with each prototype's source item
/// id and box and the hygiene summary (prototypes per class, merged, pruned). Everything comes from the
/// model folder (model.json and prototypes.safetensors), not from the training data.
/// </summary>
public static class PrototypeGalleryPage
{
    public const string IndexFile = "index.html";
    private const int Caption = 30;

    public static string PictureFile(int prototype) => $"prototype_{prototype:D4}.png";

    public static GalleryResult Write(string modelDir, string outDir)
    {
        using var bundle = ModelBundle.Load(modelDir);
        var head = PrototypeExplainer.HeadOf(bundle);
        var gallery = head.Gallery
            ?? throw new ProteaException($"{modelDir}: the model holds no prototype pictures ({PrototypeGallery.FileName}); models trained with the parts head since pictures were kept have them: train it again", "model");
        Directory.CreateDirectory(outDir);
        var names = bundle.Description.ClassNames;
        var files = new List<string>();
        for (var j = 0; j < head.PrototypeCount; j++)
        {
            var file = PictureFile(j);
            PngImage.Write(Path.Combine(outDir, file), Render(gallery, j, head.Sources[j], names[head.PrototypeClasses[j]]));
            files.Add(file);
        }
        AtomicFile.WriteAllText(Path.Combine(outDir, IndexFile), Html(bundle.Description, head));
        return new GalleryResult(IndexFile, files);
    }

    /// <summary>One prototype's PNG: two cells (source image with box; activation overlay with box) and a caption.</summary>
    public static byte[] Render(PrototypeGallery gallery, int prototype, PrototypeSource? source, string className)
    {
        var (width, height) = Size;
        using var surface = SKSurface.Create(new SKImageInfo(width, height, SKColorType.Rgba8888, SKAlphaType.Premul));
        var canvas = surface.Canvas;
        canvas.Clear(SKColors.White);
        var picture = gallery.Pictures[prototype];
        var boxes = source is null ? [] : new[] { (source.Box, SourceBox) };
        using (var plain = Bitmap(picture.Image, gallery.Channels, gallery.Height, gallery.Width))
            Draw(canvas, plain, Pad, Pad, boxes);
        using (var heat = Bitmap(picture.Image, gallery.Channels, gallery.Height, gallery.Width, Normalise(picture.Activation)))
            Draw(canvas, heat, 2 * Pad + Cell, Pad, boxes);
        using var font = Font(13);
        using var ink = new SKPaint { Color = Ink, IsAntialias = true };
        canvas.DrawText($"prototype {prototype} of {className}" + (source is null ? "" : $", item {source.ItemId}"), Pad, Pad + Cell + 20, SKTextAlign.Left, font, ink);
        return Encode(surface);
    }

    /// <summary>Each prototype PNG's size in pixels.</summary>
    public static (int Width, int Height) Size => (3 * Pad + 2 * Cell, 2 * Pad + Cell + Caption);

    private static string Html(ModelDescription d, PartsHead head)
    {
        static string E(string s) => WebUtility.HtmlEncode(s);
        var inv = CultureInfo.InvariantCulture;
        var perClass = Enumerable.Range(0, d.NumClasses).Select(c => head.PrototypeClasses.Count(k => k == c)).ToArray();
        var html = new StringBuilder();
        html.Append("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>Prototypes</title>\n<style>")
            .Append("body{font-family:sans-serif;margin:1.5em;color:#1f2937}figure{display:inline-block;margin:0 1em 1em 0;vertical-align:top}")
            .Append("figcaption{font-size:13px}table{border-collapse:collapse}td,th{border:1px solid #d1d5db;padding:2px 8px;text-align:right}")
            .Append("</style></head><body>\n<h1>Prototypes</h1>\n<p>")
            .Append(inv, $"{head.PrototypeCount} prototypes over {d.NumClasses} classes (architecture {E(d.Architecture)}, head parts).");
        if (head.Summary is { } s)
            html.Append(inv, $" Training pushed {s.Pushed} prototypes ({s.DistinctAfterPush} onto distinct patches); hygiene merged {s.Merged} and pruned {s.Pruned}.");
        html.Append("</p>\n<table><tr><th>class</th><th>prototypes</th></tr>\n");
        for (var c = 0; c < d.NumClasses; c++)
            html.Append(inv, $"<tr><td style=\"text-align:left\"><a href=\"#class-{c}\">{E(d.ClassNames[c])}</a></td><td>{perClass[c]}</td></tr>\n");
        html.Append("</table>\n");
        for (var c = 0; c < d.NumClasses; c++)
        {
            html.Append(inv, $"<h2 id=\"class-{c}\">{E(d.ClassNames[c])} ({perClass[c]})</h2>\n");
            for (var j = 0; j < head.PrototypeCount; j++)
            {
                if (head.PrototypeClasses[j] != c) continue;
                var source = head.Sources[j];
                var where = source is null ? "not pushed"
                    : $"item {E(source.ItemId)}, box ({source.Box.X0},{source.Box.Y0})-({source.Box.X1},{source.Box.Y1})";
                html.Append(inv, $"<figure id=\"prototype-{j}\"><img src=\"{PictureFile(j)}\" alt=\"prototype {j}\"><figcaption>prototype {j}: {where}</figcaption></figure>\n");
            }
        }
        return html.Append("</body></html>\n").ToString();
    }
}

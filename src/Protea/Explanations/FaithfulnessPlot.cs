using Protea.Reports;
using ScottPlot;
using SkiaSharp;

namespace Protea.Explanations;

/// <summary>Deletion curves (left) and insertion curves (right) of every method: target probability against the fraction of pixels moved.</summary>
public static class FaithfulnessPlot
{
    public static void Save(string path, FaithfulnessReport report, int width = 1400, int height = 560) =>
        PngImage.Write(path, Render(report, width, height));

    public static byte[] Render(FaithfulnessReport report, int width = 1400, int height = 560)
    {
        PngImage.CheckSize(width, height);
        using var left = Panel(report, deletion: true, width / 2, height);
        using var right = Panel(report, deletion: false, width - width / 2, height);
        using var surface = SKSurface.Create(new SKImageInfo(width, height, SKColorType.Rgba8888, SKAlphaType.Premul));
        surface.Canvas.Clear(SKColors.White);
        surface.Canvas.DrawImage(left, 0, 0);
        surface.Canvas.DrawImage(right, width / 2, 0);
        using var snapshot = surface.Snapshot();
        using var data = snapshot.Encode(SKEncodedImageFormat.Png, 100);
        return data.ToArray();
    }

    private static SKImage Panel(FaithfulnessReport report, bool deletion, int width, int height)
    {
        var font = PlotFonts.Sans;
        var plot = new Plot();
        var palette = new ScottPlot.Palettes.Category10();
        for (var m = 0; m < report.Methods.Count; m++)
        {
            var row = report.Methods[m];
            var curve = (deletion ? row.DeletionCurve : row.InsertionCurve).ToArray();
            var x = Enumerable.Range(0, curve.Length).Select(i => (double)i / (curve.Length - 1)).ToArray();
            var line = plot.Add.Scatter(x, curve, palette.GetColor(m));
            line.LegendText = $"{row.Method} (AUC {(deletion ? row.DeletionAuc : row.InsertionAuc):0.000})";
            line.MarkerSize = 0;
            line.LineWidth = 2;
            if (row.Method == RandomAttribution.Spec.Name) line.LinePattern = LinePattern.Dashed;
        }
        plot.Axes.SetLimits(0, 1, 0, 1.02);
        plot.Title(deletion ? $"Deletion (to {report.DeletionBaseline}; lower is better)" : $"Insertion (from {report.InsertionBaseline}; higher is better)");
        plot.XLabel("Fraction of pixels, most important first");
        plot.YLabel("Probability of the predicted class");
        Reports.PlotStyle.Legend(plot, deletion ? Alignment.UpperRight : Alignment.LowerRight, 12);
        using var image = plot.GetImage(width, height);
        var bytes = image.GetImageBytes(ImageFormat.Png, 100);
        return SKImage.FromEncodedData(bytes);
    }
}

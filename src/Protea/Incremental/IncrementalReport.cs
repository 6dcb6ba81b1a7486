using System.Globalization;
using System.Text;
using Protea.IO;
using Protea.Reports;
using ScottPlot;

namespace Protea.Incremental;

/// <summary>Compares methods on one scenario: a Markdown table and a PNG of accuracy over steps.</summary>
public static class IncrementalReport
{
    public static void WriteMarkdown(string path, IReadOnlyList<IncrementalResult> results) => AtomicFile.WriteAllText(path, ToMarkdown(results));

    public static string ToMarkdown(IReadOnlyList<IncrementalResult> results)
    {
        var s = new StringBuilder();
        if (results.Count > 0) s.AppendLine(CultureInfo.InvariantCulture, $"Scenario: {results[0].Scenario}; class order: {string.Join(", ", results[0].ClassOrder)}").AppendLine();
        s.AppendLine("| method | avg incremental acc | last acc | avg forgetting | backward transfer | last old acc | last new acc | last harmonic | seconds |");
        s.AppendLine("|---|---:|---:|---:|---:|---:|---:|---:|---:|");
        foreach (var r in results)
        {
            var last = r.Steps[^1];
            s.AppendLine(CultureInfo.InvariantCulture,
                $"| {r.Method} | {P(r.AverageIncrementalAccuracy)} | {P(r.LastAccuracy)} | {P(r.AverageForgetting)} | {P(r.BackwardTransfer)} | {P(last.OldAccuracy)} | {P(last.NewAccuracy)} | {P(last.HarmonicMean)} | {r.Seconds:F1} |");
        }
        s.AppendLine().AppendLine("Accuracy (%) on every class seen, after each step:").AppendLine();
        var steps = results.Count == 0 ? 0 : results.Max(r => r.Steps.Count);
        s.AppendLine("| method | " + string.Join(" | ", Enumerable.Range(1, steps).Select(i => $"step {i}")) + " |");
        s.AppendLine("|---|" + string.Concat(Enumerable.Repeat("---:|", steps)));
        foreach (var r in results)
            s.AppendLine($"| {r.Method} | " + string.Join(" | ", r.Steps.Select(x => P(x.Accuracy))) + " |");
        return s.ToString();
    }

    private static string P(double? v) => v is { } x && double.IsFinite(x) ? (100 * x).ToString("F1", CultureInfo.InvariantCulture) : "-";

    public static void SavePlot(string path, IReadOnlyList<IncrementalResult> results, int width = 900, int height = 550) =>
        PngImage.Write(path, RenderPlot(results, width, height));

    public static byte[] RenderPlot(IReadOnlyList<IncrementalResult> results, int width = 900, int height = 550)
    {
        PngImage.CheckSize(width, height);
        var font = PlotFonts.Sans;
        var plot = new Plot();
        foreach (var r in results)
        {
            var line = plot.Add.Scatter(r.Steps.Select(x => (double)x.ClassesSeen).ToArray(), r.Steps.Select(x => 100 * x.Accuracy).ToArray());
            line.LegendText = $"{r.Method} (avg {100 * r.AverageIncrementalAccuracy:F1})";
            line.LineWidth = 2;
            line.MarkerSize = 7;
        }
        plot.Axes.SetLimitsY(0, 102);
        plot.Title(results.Count > 0 ? $"Class-incremental accuracy, {results[0].Scenario}" : "Class-incremental accuracy");
        plot.XLabel("Classes seen");
        plot.YLabel("Accuracy on all classes seen (%)");
        Reports.PlotStyle.Legend(plot, Alignment.LowerLeft);
        using var image = plot.GetImage(width, height);
        return image.GetImageBytes(ImageFormat.Png, 100);
    }
}

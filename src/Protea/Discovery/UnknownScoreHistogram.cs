using Protea.Reports;
using ScottPlot;

namespace Protea.Discovery;

/// <summary>
/// The score distributions of known and unknown items, one panel per scorer (two columns), as step
/// histograms normalised to each group's size so groups of different sizes compare; the panel title
/// gives the scorer's AUROC.
/// </summary>
public static class UnknownScoreHistogram
{
    private const int Bins = 40;
    private static readonly Color KnownColor = Color.FromHex("#1f77b4");
    private static readonly Color UnknownColor = Color.FromHex("#d62728");

    public static void Save(string path, IReadOnlyList<ScorerComparison> scorers, int width = 1100, int height = 0) =>
        PngImage.Write(path, Render(scorers, width, height));

    public static byte[] Render(IReadOnlyList<ScorerComparison> scorers, int width = 1100, int height = 0)
    {
        if (scorers.Count == 0) throw new ArgumentException("there are no scorers to plot", nameof(scorers));
        var rows = (scorers.Count + 1) / 2;
        if (height == 0) height = Math.Min(10_000, 80 + 300 * rows);
        PngImage.CheckSize(width, height);
        var font = PlotFonts.Sans;
        var multiplot = new Multiplot();
        multiplot.AddPlots(scorers.Count);
        multiplot.Layout = new ScottPlot.MultiplotLayouts.Grid(rows, 2);
        for (var i = 0; i < scorers.Count; i++)
        {
            var s = scorers[i];
            var plot = multiplot.GetPlot(i);
            var all = s.KnownScores.Concat(s.UnknownScores).ToArray();
            double min = all.Min(), max = all.Max();
            if (max <= min) max = min + 1;
            AddHistogram(plot, s.KnownScores, min, max, "known", KnownColor);
            AddHistogram(plot, s.UnknownScores, min, max, "unknown", UnknownColor);
            plot.Title($"{s.Scorer} (AUROC {s.Metrics.Auroc:F3})");
            plot.XLabel("score (higher = more unknown)");
            plot.YLabel("share of items");
            plot.Font.Set(font);
            plot.Legend.FontName = font;
            plot.ShowLegend(Alignment.UpperRight);
        }
        using var image = multiplot.Render(width, height);
        return image.GetImageBytes(ImageFormat.Png, 100);
    }

    private static void AddHistogram(Plot plot, double[] values, double min, double max, string label, Color color)
    {
        var width = (max - min) / Bins;
        var counts = new double[Bins];
        foreach (var v in values) counts[Math.Clamp((int)((v - min) / width), 0, Bins - 1)]++;
        var xs = new List<double>();
        var ys = new List<double>();
        for (var b = 0; b < Bins; b++)
        {
            xs.Add(min + b * width);
            xs.Add(min + (b + 1) * width);
            ys.Add(counts[b] / values.Length);
            ys.Add(counts[b] / values.Length);
        }
        var line = plot.Add.Scatter(xs.ToArray(), ys.ToArray(), color);
        line.LegendText = label;
        line.LineWidth = 2;
        line.MarkerSize = 0;
    }
}

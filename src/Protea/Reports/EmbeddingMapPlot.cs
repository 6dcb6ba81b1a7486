using ScottPlot;

namespace Protea.Reports;

/// <summary>
/// A 2-D map of embeddings (<see cref="Evaluation.Separability.Pca2"/>'s coordinates): one dot per
/// item, coloured by class (Category10, then Category20 beyond 10 classes), with a legend of
/// classes when they fit (at most 20).
/// </summary>
public static class EmbeddingMapPlot
{
    public const int MaxClassesInLegend = 20;

    public static void Save(string path, double[][] points, long[] labels, IReadOnlyList<string> classNames, string title, int width = 900, int height = 800) =>
        PngImage.Write(path, Render(points, labels, classNames, title, width, height));

    public static byte[] Render(double[][] points, long[] labels, IReadOnlyList<string> classNames, string title, int width = 900, int height = 800)
    {
        PngImage.CheckSize(width, height);
        if (points.Length != labels.Length) throw new ArgumentException($"{points.Length} points for {labels.Length} labels", nameof(labels));
        if (points.Length == 0) throw new ArgumentException("there are no points to plot", nameof(points));
        var font = PlotFonts.Sans;
        using var plot = new Plot();
        IPalette palette = classNames.Count <= 10 ? new ScottPlot.Palettes.Category10() : new ScottPlot.Palettes.Category20();
        var markerSize = points.Length > 5000 ? 2 : points.Length > 1000 ? 3 : 5;
        for (var c = 0; c < classNames.Count; c++)
        {
            var mine = Enumerable.Range(0, points.Length).Where(i => labels[i] == c).ToArray();
            if (mine.Length == 0) continue;
            var scatter = plot.Add.ScatterPoints(mine.Select(i => points[i][0]).ToArray(), mine.Select(i => points[i][1]).ToArray(), palette.GetColor(c));
            scatter.MarkerSize = markerSize;
            if (classNames.Count <= MaxClassesInLegend) scatter.LegendText = classNames[c];
        }
        plot.Title(title);
        plot.XLabel("First principal component");
        plot.YLabel("Second principal component");
        plot.Font.Set(font);
        if (classNames.Count <= MaxClassesInLegend)
        {
            plot.ShowLegend(Edge.Right);
            plot.Legend.FontName = font;
            plot.Legend.FontSize = 12;
        }
        using var image = plot.GetImage(width, height);
        return image.GetImageBytes(ImageFormat.Png, 100);
    }
}

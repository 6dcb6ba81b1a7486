using ScottPlot;

namespace Protea.Reports;

/// <summary>
/// The confusion matrix as a heat map: rows are true classes (first class at the top), columns predicted
/// classes, each cell shows its count and is coloured by its share of the row, so the diagonal reads as
/// per-class recall whatever the class sizes.
/// </summary>
public static class ConfusionPlot
{
    /// <summary>Above this many classes the counts no longer fit in the cells and only the colours are drawn.</summary>
    public const int MaxClassesWithCounts = 30;

    /// <summary>matplotlib's "Blues", white (0) to dark blue (1), so empty cells stay white.</summary>
    private static readonly ScottPlot.Colormaps.CustomInterpolated Blues = new(
        new[] { "#f7fbff", "#deebf7", "#c6dbef", "#9ecae1", "#6baed6", "#4292c6", "#2171b5", "#08519c", "#08306b" }
            .Select(Color.FromHex).ToArray());

    public static void Save(string path, long[][] confusion, IReadOnlyList<string> classNames, int width = 900, int height = 800) =>
        PngImage.Write(path, Render(confusion, classNames, width, height));

    /// <summary>The plot as PNG bytes (for callers that serve it rather than save it).</summary>
    public static byte[] Render(long[][] confusion, IReadOnlyList<string> classNames, int width = 900, int height = 800)
    {
        PngImage.CheckSize(width, height);
        var k = classNames.Count;
        if (k == 0 || confusion.Length != k || confusion.Any(row => row.Length != k))
            throw new ArgumentException($"the confusion matrix must be {k}x{k}, one row and column per class name", nameof(confusion));

        var font = PlotFonts.Sans;
        using var plot = new Plot();
        var fractions = RowFractions(confusion);
        var heatmap = plot.Add.Heatmap(fractions);
        heatmap.Colormap = Blues;
        heatmap.ManualRange = new ScottPlot.Range(0, 1);
        // Unit cells centred on integers: cell (i, j) sits at x = j, y = k-1-i, as Intensities[0, *] is the top row.

        if (k <= MaxClassesWithCounts)
        {
            var fontSize = (float)Math.Clamp(180.0 / k, 9, 18);
            for (var i = 0; i < k; i++)
            for (var j = 0; j < k; j++)
            {
                var text = plot.Add.Text(confusion[i][j].ToString(System.Globalization.CultureInfo.InvariantCulture), j, k - 1 - i);
                text.LabelFontName = font;
                text.LabelFontSize = fontSize;
                text.LabelBold = i == j;
                text.LabelAlignment = Alignment.MiddleCenter;
                // Dark cells get white text; the Blues map is dark above about half.
                text.LabelFontColor = fractions[i, j] > 0.55 ? Colors.White : Color.FromHex("#1f2937");
            }
        }

        var positions = Enumerable.Range(0, k).Select(i => (double)i).ToArray();
        var names = classNames.ToArray();
        var tickFontSize = (float)Math.Clamp(360.0 / k, 6, 13);
        plot.Axes.Bottom.SetTicks(positions, names);
        plot.Axes.Left.SetTicks(positions.Select(p => k - 1 - p).ToArray(), names);
        foreach (var axis in new IAxis[] { plot.Axes.Bottom, plot.Axes.Left })
        {
            axis.TickLabelStyle.FontName = font;
            axis.TickLabelStyle.FontSize = tickFontSize;
        }
        var widest = TextWidth(names, font, tickFontSize);
        if (widest > 0.8 * (width - 250) / k)
        {
            // Slanted names, ending at their tick (matplotlib's rotation=40, ha="right"). ScottPlot sizes the
            // axis for upright text, so reserve the slanted height explicitly.
            plot.Axes.Bottom.TickLabelStyle.Rotation = -40;
            plot.Axes.Bottom.TickLabelStyle.Alignment = Alignment.UpperRight;
            plot.Axes.Bottom.MinimumSize = (float)(widest * Math.Sin(40 * Math.PI / 180) + tickFontSize + 40);
        }
        plot.Axes.Bottom.MajorTickStyle.Length = 0;
        plot.Axes.Left.MajorTickStyle.Length = 0;
        plot.Axes.SetLimits(-0.5, k - 0.5, -0.5, k - 0.5);
        plot.HideGrid();

        var colorBar = plot.Add.ColorBar(heatmap);
        colorBar.Label = "Share of the true class";
        colorBar.Axis.TickGenerator = new ScottPlot.TickGenerators.NumericManual(
            [0, 0.25, 0.5, 0.75, 1], ["0%", "25%", "50%", "75%", "100%"]);
        plot.Title("Confusion matrix");
        plot.XLabel("Predicted class");
        plot.YLabel("True class");
        plot.Font.Set(font);
        colorBar.LabelStyle.FontName = font;
        colorBar.LabelStyle.Bold = false;
        return plot.GetImageBytes(width, height, ImageFormat.Png);
    }

    private static double TextWidth(IEnumerable<string> texts, string fontName, float size)
    {
        using var font = new SkiaSharp.SKFont(SkiaSharp.SKTypeface.FromFamilyName(fontName), size);
        return texts.Max(t => font.MeasureText(t));
    }

    private static double[,] RowFractions(long[][] confusion)
    {
        var k = confusion.Length;
        var fractions = new double[k, k];
        for (var i = 0; i < k; i++)
        {
            var total = confusion[i].Sum();
            for (var j = 0; j < k; j++) fractions[i, j] = total == 0 ? 0 : (double)confusion[i][j] / total;
        }
        return fractions;
    }
}

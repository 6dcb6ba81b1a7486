using Protea.Training;
using ScottPlot;

namespace Protea.Reports;

/// <summary>
/// A learning-rate range test's curve: the loss of each batch (faint) and its smoothed value against
/// the learning rate on a log axis, with the suggested rate marked.
/// </summary>
public static class LearningRatePlot
{
    public static void Save(string path, LearningRateFinder.Result result, int width = 900, int height = 500) =>
        PngImage.Write(path, Render(result, width, height));

    public static byte[] Render(LearningRateFinder.Result result, int width = 900, int height = 500)
    {
        PngImage.CheckSize(width, height);
        var points = result.Curve.Where(p => double.IsFinite(p.Loss) && double.IsFinite(p.SmoothedLoss)).ToArray();
        if (points.Length == 0) throw new ArgumentException("the sweep has no finite losses to plot", nameof(result));
        var font = PlotFonts.Sans;
        var plot = new Plot();
        var x = points.Select(p => Math.Log10(p.LearningRate)).ToArray();
        var raw = plot.Add.Scatter(x, points.Select(p => p.Loss).ToArray(), Color.FromHex("#9ca3af"));
        raw.LegendText = "batch loss";
        raw.MarkerSize = 0;
        var smooth = plot.Add.Scatter(x, points.Select(p => p.SmoothedLoss).ToArray(), Color.FromHex("#1f77b4"));
        smooth.LegendText = "smoothed loss";
        smooth.LineWidth = 2;
        smooth.MarkerSize = 0;
        var line = plot.Add.VerticalLine(Math.Log10(result.Suggestion), 2, Color.FromHex("#d62728"));
        line.LegendText = $"suggested {result.Suggestion:G3} ({result.Method})";
        // The batch losses of the last, diverging steps would squash the curve: the y axis follows the smoothed loss.
        var smoothed = points.Select(p => p.SmoothedLoss).ToArray();
        var (low, high) = (Math.Min(smoothed.Min(), points.Min(p => p.Loss)), smoothed.Max());
        plot.Axes.SetLimitsY(Math.Max(0, low - 0.05 * (high - low)), high + 0.1 * (high - low) + 1e-6);
        plot.Axes.Bottom.TickGenerator = new ScottPlot.TickGenerators.NumericManual(
            Enumerable.Range((int)Math.Floor(x.Min()), (int)Math.Ceiling(x.Max()) - (int)Math.Floor(x.Min()) + 1)
                .Select(e => new Tick(e, $"1e{e}")).ToArray());
        plot.Title("Learning-rate range test");
        plot.XLabel("Learning rate (log scale)");
        plot.YLabel("Training loss");
        PlotStyle.Legend(plot, Alignment.UpperLeft);
        using var image = plot.GetImage(width, height);
        return image.GetImageBytes(ImageFormat.Png, 100);
    }
}

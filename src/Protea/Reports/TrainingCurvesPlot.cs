using Protea.Evaluation;
using ScottPlot;

namespace Protea.Reports;

/// <summary>
/// Per-epoch learning curves in two stacked panels sharing the epoch axis: losses on top (training and
/// the monitored split), accuracies below (the same, in percent). The monitored split's lines are drawn
/// only for the epochs that have its values, and are labelled with its name: "validation" for a held-out
/// split, "test" when a data set's own test set was monitored.
/// </summary>
public static class TrainingCurvesPlot
{
    private static readonly Color TrainColor = Color.FromHex("#1f77b4");
    private static readonly Color ValidationColor = Color.FromHex("#d62728");

    /// <param name="monitored">The name of the split the validation values were measured on.</param>
    public static void Save(string path, IReadOnlyList<EpochRecord> epochs, int width = 900, int height = 700, string monitored = "validation") =>
        PngImage.Write(path, Render(epochs, width, height, monitored));

    /// <summary>The plot as PNG bytes (for callers that serve it rather than save it).</summary>
    public static byte[] Render(IReadOnlyList<EpochRecord> epochs, int width = 900, int height = 700, string monitored = "validation")
    {
        PngImage.CheckSize(width, height);
        if (epochs.Count == 0) throw new ArgumentException("there are no epochs to plot", nameof(epochs));

        var font = PlotFonts.Sans;
        var multiplot = new Multiplot();
        multiplot.AddPlots(2);
        var loss = multiplot.GetPlot(0);
        var accuracy = multiplot.GetPlot(1);

        var x = epochs.Select(e => (double)e.Epoch).ToArray();
        AddSeries(loss, x, epochs.Select(e => (double?)e.TrainLoss), "training", TrainColor);
        AddSeries(loss, x, epochs.Select(e => e.ValidationLoss), monitored, ValidationColor);
        AddSeries(accuracy, x, epochs.Select(e => (double?)(100 * e.TrainAccuracy)), "training", TrainColor);
        AddSeries(accuracy, x, epochs.Select(e => 100 * e.ValidationAccuracy), monitored, ValidationColor);

        loss.Title("Training curves");
        loss.YLabel("Loss");
        accuracy.YLabel("Accuracy (%)");
        accuracy.XLabel("Epoch");
        foreach (var plot in new[] { loss, accuracy })
        {
            plot.Axes.Bottom.TickGenerator = new ScottPlot.TickGenerators.NumericAutomatic { IntegerTicksOnly = true };
            plot.Axes.SetLimitsX(x.Min() - 0.5, x.Max() + 0.5);
            // The same left-axis width in both panels keeps their epoch axes one above the other.
            plot.Axes.Left.MinimumSize = 70;
            PlotStyle.Legend(plot, Alignment.UpperRight);
            plot.Legend.OutlineColor = Color.FromHex("#9ca3af");
        }
        accuracy.Legend.Alignment = Alignment.LowerRight;
        multiplot.SharedAxes.ShareX([loss, accuracy]);

        using var image = multiplot.Render(width, height);
        return image.GetImageBytes(ImageFormat.Png, 100);
    }

    private static void AddSeries(Plot plot, double[] x, IEnumerable<double?> y, string label, Color color)
    {
        var points = x.Zip(y).Where(p => p.Second is { } v && double.IsFinite(v)).Select(p => (X: p.First, Y: p.Second!.Value)).ToArray();
        if (points.Length == 0) return;
        var scatter = plot.Add.Scatter(points.Select(p => p.X).ToArray(), points.Select(p => p.Y).ToArray(), color);
        scatter.LegendText = label;
        scatter.LineWidth = 2;
        scatter.MarkerSize = points.Length > 50 ? 0 : 5;
    }
}

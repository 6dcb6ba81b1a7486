using ScottPlot;

namespace Protea.Reports;

/// <summary>The look every plot shares: its text in the resolved sans family, a legend without a shadow.</summary>
internal static class PlotStyle
{
    /// <summary>Shows the legend at <paramref name="alignment"/> and sets every text of <paramref name="plot"/> in <see cref="PlotFonts.Sans"/>.</summary>
    public static void Legend(Plot plot, Alignment alignment, float fontSize = 13)
    {
        var font = PlotFonts.Sans;
        plot.ShowLegend(alignment);
        plot.Font.Set(font);
        plot.Legend.FontName = font;
        plot.Legend.FontSize = fontSize;
        plot.Legend.ShadowColor = Colors.Transparent;
    }
}

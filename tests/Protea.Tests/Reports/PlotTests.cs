using Protea.Evaluation;
using Protea.Reports;
using Protea.Tests.Support;
using SkiaSharp;

namespace Protea.Tests.Reports;

public sealed class PlotTests
{
    private static readonly string[] FashionNames =
        ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"];

    [Fact]
    public void ConfusionPlot_Save_WritesNonBlankPngOfRequestedSize()
    {
        using var dir = new TempDir();
        var path = dir.File("confusion.png");

        ConfusionPlot.Save(path, TenClassConfusion(), FashionNames, width: 900, height: 800);

        using var bitmap = DecodePng(path);
        Assert.Equal((900, 800), (bitmap.Width, bitmap.Height));
        Assert.True(LuminanceVariance(bitmap, new SKRectI(0, 0, 900, 800)) > 100);
        // The class names on the left axis are text: a font was found and drew dark glyphs there.
        Assert.True(DarkPixels(bitmap, new SKRectI(0, 60, 90, 700)) > 200);
    }

    [Fact]
    public void ConfusionPlot_FirstTrueClassIsTheTopRow()
    {
        // True class a is always predicted a; true class b always predicted a too. With rows = true classes and
        // the first class on top, the left column is dark in both rows and the right column is empty (white).
        long[][] confusion = [[50, 0], [50, 0]];
        var png = ConfusionPlot.Render(confusion, ["a", "b"], width: 800, height: 800);

        using var bitmap = SKBitmap.Decode(png);
        // Probe near the middle of each quadrant, away from the centred count labels.
        var topLeft = Luminance(bitmap.GetPixel(250, 200));
        var bottomLeft = Luminance(bitmap.GetPixel(250, 560));
        var topRight = Luminance(bitmap.GetPixel(560, 200));
        Assert.True(topLeft < 100 && bottomLeft < 100, $"full cells should be dark: {topLeft}, {bottomLeft}");
        Assert.True(topRight > 230, $"an empty cell should be white: {topRight}");

        long[][] transposed = [[50, 50], [0, 0]];
        using var other = SKBitmap.Decode(ConfusionPlot.Render(transposed, ["a", "b"], width: 800, height: 800));
        // Now the top row holds everything, split evenly: both top cells mid-blue, bottom row (no support) white.
        Assert.True(Luminance(other.GetPixel(250, 560)) > 230);
        Assert.True(Luminance(other.GetPixel(250, 200)) < 200);
    }

    [Fact]
    public void ConfusionPlot_Save_ReplacesExistingFileWithoutLeavingTemporaries()
    {
        using var dir = new TempDir();
        var path = dir.File("confusion.png");
        File.WriteAllText(path, "not a png");
        long[][] confusion = [[3, 1], [0, 4]];

        ConfusionPlot.Save(path, confusion, ["x", "y"], width: 400, height: 300);
        ConfusionPlot.Save(path, confusion, ["x", "y"], width: 500, height: 350);

        Assert.Equal([path], Directory.GetFiles(dir.Path));
        using var bitmap = DecodePng(path);
        Assert.Equal((500, 350), (bitmap.Width, bitmap.Height));
    }

    [Fact]
    public void ConfusionPlot_MatrixNotMatchingNames_Throws()
    {
        Assert.Throws<ArgumentException>(() => ConfusionPlot.Render([[1, 2], [3, 4]], ["a", "b", "c"]));
    }

    [Fact]
    public void TrainingCurvesPlot_Save_WritesNonBlankPngOfRequestedSize()
    {
        using var dir = new TempDir();
        var path = dir.File("curves.png");
        var epochs = Enumerable.Range(1, 8)
            .Select(e => new EpochRecord(e, 2.0 / e, 1 - 0.5 / e, 2.2 / e, 0.9 - 0.5 / e, 0.01, 1.5))
            .ToList();

        TrainingCurvesPlot.Save(path, epochs, width: 900, height: 700);

        using var bitmap = DecodePng(path);
        Assert.Equal((900, 700), (bitmap.Width, bitmap.Height));
        Assert.True(LuminanceVariance(bitmap, new SKRectI(0, 0, 900, 700)) > 100);
        // Both series colours appear: training blue (#1f77b4) and validation red (#d62728).
        Assert.True(CountColour(bitmap, new SKColor(0x1f, 0x77, 0xb4)) > 100);
        Assert.True(CountColour(bitmap, new SKColor(0xd6, 0x27, 0x28)) > 100);
    }

    [Fact]
    public void TrainingCurvesPlot_WithoutValidation_DrawsOnlyTrainingLines()
    {
        var epochs = Enumerable.Range(1, 3).Select(e => new EpochRecord(e, 1.0 / e, 0.5 + e / 10.0, null, null, 0.1, 2)).ToList();

        using var bitmap = SKBitmap.Decode(TrainingCurvesPlot.Render(epochs, width: 600, height: 500));

        Assert.Equal((600, 500), (bitmap.Width, bitmap.Height));
        Assert.True(CountColour(bitmap, new SKColor(0x1f, 0x77, 0xb4)) > 100);
        Assert.Equal(0, CountColour(bitmap, new SKColor(0xd6, 0x27, 0x28)));
    }

    [Fact]
    public void TrainingCurvesPlot_Save_ReplacesExistingFileWithoutLeavingTemporaries()
    {
        using var dir = new TempDir();
        var path = dir.File("curves.png");
        File.WriteAllBytes(path, new byte[10]);
        var epochs = new List<EpochRecord> { new(1, 0.9, 0.6, 0.8, 0.65, 0.1, 3) };

        TrainingCurvesPlot.Save(path, epochs, width: 640, height: 480);

        Assert.Equal([path], Directory.GetFiles(dir.Path));
        using var bitmap = DecodePng(path);
        Assert.Equal((640, 480), (bitmap.Width, bitmap.Height));
    }

    /// <summary>The monitored split's lines carry its name: a data set's own test set is not labelled "validation".</summary>
    [Fact]
    public void TrainingCurvesPlot_LabelsTheMonitoredSplitByName()
    {
        var epochs = Enumerable.Range(1, 4).Select(e => new EpochRecord(e, 1.0 / e, 0.5 + e / 10.0, 1.2 / e, 0.4 + e / 10.0, 0.1, 2)).ToList();
        var byDefault = TrainingCurvesPlot.Render(epochs, width: 600, height: 500);
        var validation = TrainingCurvesPlot.Render(epochs, width: 600, height: 500, monitored: "validation");
        var test = TrainingCurvesPlot.Render(epochs, width: 600, height: 500, monitored: "test");
        var testAgain = TrainingCurvesPlot.Render(epochs, width: 600, height: 500, monitored: "test");
        Assert.Equal(validation, byDefault);
        Assert.Equal(test, testAgain); // rendering is deterministic, so the difference below is the label's
        using var a = SKBitmap.Decode(validation);
        using var b = SKBitmap.Decode(test);
        var differing = 0;
        for (var y = 0; y < a.Height; y++)
            for (var x = 0; x < a.Width; x++)
                if (a.GetPixel(x, y) != b.GetPixel(x, y)) differing++;
        Assert.InRange(differing, 20, a.Width * a.Height / 20); // legend text only, not the curves
    }

    [Fact]
    public void TrainingCurvesPlot_NoEpochs_Throws()
    {
        Assert.Throws<ArgumentException>(() => TrainingCurvesPlot.Render([]));
    }

    private static long[][] TenClassConfusion()
    {
        var random = new Random(5);
        return Enumerable.Range(0, 10)
            .Select(i => Enumerable.Range(0, 10).Select(j => (long)(i == j ? 800 + random.Next(150) : random.Next(40))).ToArray())
            .ToArray();
    }

    private static SKBitmap DecodePng(string path)
    {
        var bytes = File.ReadAllBytes(path);
        Assert.Equal(new byte[] { 0x89, (byte)'P', (byte)'N', (byte)'G', 0x0D, 0x0A, 0x1A, 0x0A }, bytes[..8]);
        return SKBitmap.Decode(bytes) ?? throw new InvalidDataException($"{path}: not decodable");
    }

    private static double Luminance(SKColor c) => 0.299 * c.Red + 0.587 * c.Green + 0.114 * c.Blue;

    private static double LuminanceVariance(SKBitmap bitmap, SKRectI area)
    {
        var values = new List<double>();
        for (var y = area.Top; y < area.Bottom; y += 2)
        for (var x = area.Left; x < area.Right; x += 2)
            values.Add(Luminance(bitmap.GetPixel(x, y)));
        var mean = values.Average();
        return values.Average(v => (v - mean) * (v - mean));
    }

    private static int DarkPixels(SKBitmap bitmap, SKRectI area)
    {
        var count = 0;
        for (var y = area.Top; y < area.Bottom; y++)
        for (var x = area.Left; x < area.Right; x++)
            if (Luminance(bitmap.GetPixel(x, y)) < 100) count++;
        return count;
    }

    private static int CountColour(SKBitmap bitmap, SKColor colour)
    {
        var count = 0;
        for (var y = 0; y < bitmap.Height; y++)
        for (var x = 0; x < bitmap.Width; x++)
        {
            var p = bitmap.GetPixel(x, y);
            if (Math.Abs(p.Red - colour.Red) < 12 && Math.Abs(p.Green - colour.Green) < 12 && Math.Abs(p.Blue - colour.Blue) < 12) count++;
        }
        return count;
    }
}

using System.Globalization;
using System.Text;
using Protea.IO;

namespace Protea.Reports;

/// <summary>
/// Writes report.md for a run: a summary table, the per-class table, the confusion matrix and learning
/// curves as image links, and the per-epoch table. Numbers are culture-invariant so reports diff cleanly.
/// </summary>
public static class RunReport
{
    public static void Write(string path, RunSummary summary) => AtomicFile.WriteAllText(path, ToMarkdown(summary));

    public static string ToMarkdown(RunSummary summary)
    {
        var m = summary.Metrics;
        var md = new StringBuilder();
        md.Append("# ").AppendLine(Cell(summary.Title)).AppendLine();

        md.AppendLine("| Metric | Value |").AppendLine("|---|---|");
        Row(md, "Architecture", summary.Architecture);
        Row(md, "Head", summary.Head);
        Row(md, "Data", summary.DataSource);
        Row(md, "Epochs", summary.Epochs.ToString(CultureInfo.InvariantCulture));
        Row(md, "Wall time", Duration(summary.WallSeconds));
        Row(md, "Evaluated examples", m.Count.ToString(CultureInfo.InvariantCulture));
        Row(md, "Accuracy", Percent(m.Accuracy));
        Row(md, $"Top-{m.TopK} accuracy", Percent(m.Top5Accuracy));
        Row(md, "Macro F1", Fixed(m.MacroF1));
        Row(md, "ECE (15 bins)", Fixed(m.Ece));
        Row(md, "NLL", Fixed(m.Nll));
        foreach (var (key, value) in summary.Details) Row(md, key, value);
        md.AppendLine();

        md.AppendLine("## Per-class results").AppendLine();
        md.AppendLine("| Class | Precision | Recall | F1 | Support |").AppendLine("|---|---:|---:|---:|---:|");
        foreach (var c in m.PerClass)
            md.AppendLine(CultureInfo.InvariantCulture,
                $"| {Cell(c.Class)} | {Fixed(c.Precision)} | {Fixed(c.Recall)} | {Fixed(c.F1)} | {c.Support} |");
        md.AppendLine();

        if (summary.ConfusionImage is { } confusion)
        {
            md.AppendLine("## Confusion matrix").AppendLine();
            md.AppendLine("Rows are true classes, columns predicted classes; colours show each row's shares.").AppendLine();
            md.AppendLine($"![Confusion matrix]({Link(confusion)})").AppendLine();
        }

        if (summary.CurvesImage is not null || summary.EpochRecords.Count > 0)
        {
            md.AppendLine("## Training").AppendLine();
            if (summary.CurvesImage is { } curves) md.AppendLine($"![Training curves]({Link(curves)})").AppendLine();
            if (summary.EpochRecords.Count > 0)
            {
                md.AppendLine("| Epoch | Train loss | Train accuracy | Val. loss | Val. accuracy | Learning rate | Seconds |")
                  .AppendLine("|---:|---:|---:|---:|---:|---:|---:|");
                foreach (var e in summary.EpochRecords)
                    md.AppendLine(CultureInfo.InvariantCulture,
                        $"| {e.Epoch} | {Fixed(e.TrainLoss)} | {Percent(e.TrainAccuracy)} | {Optional(e.ValidationLoss, Fixed)} | " +
                        $"{Optional(e.ValidationAccuracy, Percent)} | {e.LearningRate.ToString("G4", CultureInfo.InvariantCulture)} | " +
                        $"{e.Seconds.ToString("F1", CultureInfo.InvariantCulture)} |");
                md.AppendLine();
            }
        }
        return md.ToString();
    }

    private static void Row(StringBuilder md, string name, string value) =>
        md.Append("| ").Append(Cell(name)).Append(" | ").Append(Cell(value)).AppendLine(" |");

    /// <summary>A pipe would end the table cell and a newline the row.</summary>
    private static string Cell(string text) =>
        text.Replace("\\", "\\\\").Replace("|", "\\|").ReplaceLineEndings(" ");

    /// <summary>Markdown link targets end at a space or parenthesis, so escape each path segment.</summary>
    private static string Link(string relativePath) =>
        string.Join('/', relativePath.Replace('\\', '/').Split('/').Select(Uri.EscapeDataString));

    private static string Percent(double fraction) => (100 * fraction).ToString("F2", CultureInfo.InvariantCulture) + "%";

    private static string Fixed(double value) => value.ToString("F4", CultureInfo.InvariantCulture);

    private static string Optional(double? value, Func<double, string> format) => value is { } v ? format(v) : "–";

    private static string Duration(double seconds)
    {
        var s = seconds.ToString("F1", CultureInfo.InvariantCulture) + " s";
        return seconds < 60 ? s : $"{s} ({TimeSpan.FromSeconds(Math.Round(seconds)).ToString("c", CultureInfo.InvariantCulture)})";
    }
}

using Protea.Evaluation;
using Protea.Reports;
using Protea.Tests.Support;

namespace Protea.Tests.Reports;

public sealed class RunReportTests
{
    private static RunSummary Summary() => new()
    {
        Architecture = "cnn",
        Head = "linear",
        DataSource = "fashion-mnist",
        Epochs = 2,
        WallSeconds = 125.26,
        Metrics = new EvaluationReport(
            Accuracy: 0.91234,
            Top5Accuracy: 0.998,
            TopK: 5,
            Ece: 0.01234,
            Nll: 0.25,
            MacroF1: 0.9,
            Count: 3,
            PerClass:
            [
                new ClassMetrics("T-shirt/top", 0.8, 0.75, 0.7741935483870968, 2),
                new ClassMetrics("Trouser", 1, 1, 1, 1),
                new ClassMetrics("a|b", 0, 0, 0, 0),
            ],
            Confusion: [[1, 1, 0], [0, 1, 0], [0, 0, 0]]),
        EpochRecords =
        [
            new EpochRecord(1, 0.61, 0.78, 0.5, 0.82, 0.1, 12.34),
            new EpochRecord(2, 0.4, 0.86, null, null, 0.05, 11.5),
        ],
        Details = [new("Seed", "42")],
    };

    [Fact]
    public void Write_ContainsSummaryPerClassRowsEpochsAndImageLinks()
    {
        using var dir = new TempDir();
        var path = dir.File("report.md");

        RunReport.Write(path, Summary());

        var lines = File.ReadAllLines(path);
        Assert.Equal("# Protea run report", lines[0]);
        Assert.Contains("| Architecture | cnn |", lines);
        Assert.Contains("| Head | linear |", lines);
        Assert.Contains("| Data | fashion-mnist |", lines);
        Assert.Contains("| Accuracy | 91.23% |", lines);
        Assert.Contains("| Top-5 accuracy | 99.80% |", lines);
        Assert.Contains("| ECE (15 bins) | 0.0123 |", lines);
        Assert.Contains("| Wall time | 125.3 s (00:02:05) |", lines);
        Assert.Contains("| Seed | 42 |", lines);
        Assert.Contains("| T-shirt/top | 0.8000 | 0.7500 | 0.7742 | 2 |", lines);
        Assert.Contains("| Trouser | 1.0000 | 1.0000 | 1.0000 | 1 |", lines);
        // A pipe in a class name is escaped so the table keeps five columns.
        Assert.Contains(@"| a\|b | 0.0000 | 0.0000 | 0.0000 | 0 |", lines);
        Assert.Contains("![Confusion matrix](confusion.png)", lines);
        Assert.Contains("![Training curves](curves.png)", lines);
        Assert.Contains("| 1 | 0.6100 | 78.00% | 0.5000 | 82.00% | 0.1 | 12.3 |", lines);
        Assert.Contains("| 2 | 0.4000 | 86.00% | – | – | 0.05 | 11.5 |", lines);
    }

    [Fact]
    public void ToMarkdown_ImagesLeftOutOrWithSpaces_AreLinkedOrOmitted()
    {
        var withSpaces = RunReport.ToMarkdown(Summary() with { ConfusionImage = "plots/confusion matrix.png", CurvesImage = null });

        Assert.Contains("![Confusion matrix](plots/confusion%20matrix.png)", withSpaces);
        Assert.DoesNotContain("![Training curves]", withSpaces);
        // The epoch table still appears without the curves image.
        Assert.Contains("| Epoch | Train loss |", withSpaces);
    }

    [Fact]
    public void ToMarkdown_TablesHaveAConsistentColumnCount()
    {
        var markdown = RunReport.ToMarkdown(Summary());

        // Every table row of a table has as many unescaped pipes as its header.
        var tables = markdown.Split("\n\n").Where(block => block.StartsWith('|'));
        foreach (var table in tables)
        {
            var pipes = table.Split('\n', StringSplitOptions.RemoveEmptyEntries)
                .Select(row => row.Replace(@"\|", "").Count(ch => ch == '|'))
                .Distinct();
            Assert.Single(pipes);
        }
        Assert.Equal(3, tables.Count());
    }

    [Fact]
    public void Write_ReplacesExistingReport()
    {
        using var dir = new TempDir();
        var path = dir.File("report.md");
        File.WriteAllText(path, "old report");

        RunReport.Write(path, Summary());

        Assert.StartsWith("# Protea run report", File.ReadAllText(path));
        Assert.Equal([path], Directory.GetFiles(dir.Path));
    }
}

using Protea.Evaluation;
using Protea.Runs;
using Spectre.Console;
using Spectre.Console.Rendering;

namespace Protea.Cli;

/// <summary>Human-readable result tables (Spectre.Console); plain text when stdout is not a terminal.</summary>
public static class SummaryTable
{
    public static void Write(CliConsole console, TrainingRun.Result r)
    {
        var summary = new Table().Title("Protea run").AddColumn("").AddColumn("");
        summary.HideHeaders();
        summary.AddRow("data", Markup.Escape($"{r.DataSource} ({r.TrainCount:N0} train, {r.ValidationCount:N0} validation, {r.TestCount:N0} test)"));
        summary.AddRow("evaluated on", Markup.Escape($"{r.EvaluatedOn} split, {r.Metrics.Count:N0} examples"));
        AddMetricRows(summary, r.Metrics);
        summary.AddRow("epochs", r.Epochs.Count.ToString());
        summary.AddRow("training", $"{r.TrainSeconds:F1} s, {r.TrainExamplesPerSecond:N0} examples/s");
        summary.AddRow("wall time", $"{r.WallSeconds:F1} s");
        if (r.PrototypesPerClass is { } prototypes) summary.AddRow("prototypes per class", Markup.Escape(prototypes));
        summary.AddRow("written to", Markup.Escape($"{r.OutDir}/ (model.safetensors, model.json, {TrainingRun.MetricsFile}, {TrainingRun.ConfusionFile}, {TrainingRun.CurvesFile}, {TrainingRun.ReportFile})"));
        Render(console, summary, PerClass(r.Metrics));
    }

    public static void Write(CliConsole console, string title, EvaluationReport m)
    {
        var summary = new Table().Title(Markup.Escape(title)).AddColumn("").AddColumn("");
        summary.HideHeaders();
        summary.AddRow("examples", m.Count.ToString("N0"));
        AddMetricRows(summary, m);
        Render(console, summary, PerClass(m));
    }

    private static void AddMetricRows(Table t, EvaluationReport m)
    {
        t.AddRow("accuracy", $"[bold]{m.Accuracy:P2}[/]");
        t.AddRow($"top-{m.TopK} accuracy", $"{m.Top5Accuracy:P2}");
        t.AddRow("macro F1", $"{m.MacroF1:F4}");
        t.AddRow("ECE (15 bins)", $"{m.Ece:F4}");
        t.AddRow("NLL", $"{m.Nll:F4}");
    }

    private static Table PerClass(EvaluationReport m)
    {
        var t = new Table().Title("per class").AddColumn("class").AddColumn("precision").AddColumn("recall").AddColumn("F1").AddColumn("support");
        foreach (var c in m.PerClass)
            t.AddRow(Markup.Escape(c.Class), $"{c.Precision:F3}", $"{c.Recall:F3}", $"{c.F1:F3}", c.Support.ToString("N0"));
        return t;
    }

    private static void Render(CliConsole console, params IRenderable[] items)
    {
        var ansi = AnsiConsole.Create(new AnsiConsoleSettings
        {
            Out = new AnsiConsoleOutput(console.Out),
            Ansi = console.Interactive ? AnsiSupport.Detect : AnsiSupport.No,
            ColorSystem = console.Interactive ? ColorSystemSupport.Detect : ColorSystemSupport.NoColors,
            Interactive = InteractionSupport.No,
        });
        foreach (var item in items) ansi.Write(item);
    }
}

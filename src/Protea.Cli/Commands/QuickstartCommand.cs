using System.CommandLine;
using Protea.Data;
using Protea.Training;

namespace Protea.Cli.Commands;

/// <summary>`protea quickstart`: the reference cnn on Fashion-MNIST with the quick recipe, into runs/quickstart.</summary>
public static class QuickstartCommand
{
    public const string Examples = """
        protea quickstart
        protea quickstart --recipe full --out runs/full
        """;

    public const string DefaultOut = "runs/quickstart";

    private static readonly Option<string> Out = new("--out") { Description = "Run folder", DefaultValueFactory = _ => DefaultOut };
    private static readonly Option<string> Recipe = new("--recipe") { Description = "quick (~4 min on 2 cores) or full", DefaultValueFactory = _ => "quick" };
    private static readonly Option<int> Threads = new("--threads") { Description = "CPU threads", DefaultValueFactory = _ => Environment.ProcessorCount };
    private static readonly Option<bool> Json = new("--json") { Description = "Print one JSON object with the results" };

    public static Command Create(CliConsole console)
    {
        var command = new Command("quickstart", "Train the reference cnn on Fashion-MNIST (Debian's dataset-fashion-mnist), evaluate it on the official 10,000-image test set and write runs/quickstart/ (model, metrics.json, confusion.png, curves.png, report.md).")
        { Out, Recipe, Threads, Json };
        command.SetAction(p =>
        {
            var options = Recipes.Get(p.GetValue(Recipe)!) with { Threads = p.GetValue(Threads) };
            return TrainCommand.Run(console, DataSpec.Parse(DataSpec.FashionMnistName), options, p.GetValue(Out)!, resume: false, p.GetValue(Json));
        });
        return command;
    }
}

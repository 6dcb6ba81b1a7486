using System.CommandLine;
using System.Text.Json;
using Protea.Data;
using Protea.IO;
using Protea.Models;
using Protea.Reports;
using Protea.Training;
using TorchSharp;

namespace Protea.Cli.Commands;

/// <summary>`protea lr-find`: the learning-rate range test on a fresh network, its curve as PNG and JSON, and a suggested peak rate.</summary>
public static class LrFindCommand
{
    public const string Examples = """
        protea lr-find --data photos/ --arch resnet18 --out runs/lr
        protea lr-find --data iris.csv --label species --arch mlp --json
        """;

    public const string PlotFile = "lr-find.png";
    public const string CurveFile = "lr-find.json";

    private static readonly Option<string> Data = new("--data") { Description = "fashion-mnist, a folder of class sub-folders (optional train/ test/), or a .csv file", Required = true };
    private static readonly Option<string?> Arch = new("--arch")
    {
        Description = $"Backbone: {string.Join(" | ", Architectures.BackboneNames)} (default: {Architectures.DefaultFor(InputKind.Image).Name} for images, {Architectures.DefaultFor(InputKind.Tabular).Name} for CSV)",
    };
    private static readonly Option<string> Head = new("--head") { Description = $"Head: {string.Join(" | ", Architectures.HeadNames)}", DefaultValueFactory = _ => Architectures.HeadNames[0] };
    private static readonly Option<string?> Stem = new("--stem") { Description = "resnet18 stem: small | imagenet" };
    private static readonly Option<string?> Init = new("--init") { Description = "torchvision-format resnet18 weights (.safetensors) to start from" };
    private static readonly Option<string?> Out = new("--out") { Description = $"Folder for {PlotFile} (loss vs learning rate) and {CurveFile} (the curve and the suggestion); default: none written" };
    private static readonly Option<int?> BatchSize = new("--batch-size") { Description = "Batch size (default: what train would use: quick's 128 for fashion-mnist, else the auto recipe's)" };
    private static readonly Option<string?> Optimizer = new("--optimizer") { Description = "sgd (Nesterov momentum 0.9) | adamw (default: sgd)" };
    private static readonly Option<int> Steps = new("--steps") { Description = "Sweep length: lr grows from 1e-6 to 10 over this many batches, stopping early when the smoothed loss passes 4x its best", DefaultValueFactory = _ => 100 };
    private static readonly Option<double> MaxSeconds = new("--max-seconds") { Description = "Stop the sweep after this many seconds whatever the step", DefaultValueFactory = _ => 60 };
    private static readonly Option<string?> Label = new("--label") { Description = "CSV label column (default: label/class/target, else the last column)" };
    private static readonly Option<string?> Id = new("--id") { Description = "CSV id column, never a feature (default: a column named id, if any)" };
    private static readonly Option<string?> Categorical = new("--categorical") { Description = "CSV text columns to one-hot encode: COL,COL or auto (every column holding text); categories are saved with the model" };
    private static readonly Option<string?> Classes = new("--classes") { Description = "Only these classes: indices (0-4,7) or names (cat,dog)" };
    private static readonly Option<int?> ImageSize = new("--image-size") { Description = "Resize images to SIZE x SIZE" };
    private static readonly Option<int?> Channels = new("--channels") { Description = "1 (grayscale) or 3 (RGB); default: what the images are" };
    private static readonly Option<int> Seed = new("--seed") { Description = "Seed for initialisation and batches", DefaultValueFactory = _ => 0 };
    private static readonly Option<int> Threads = new("--threads") { Description = "CPU threads", DefaultValueFactory = _ => Environment.ProcessorCount };
    private static readonly Option<bool> Json = new("--json") { Description = "Print one JSON object with the curve and the suggestion" };

    public static Command Create(CliConsole console)
    {
        var command = new Command("lr-find",
            "Learning-rate range test (Smith 2017): train a fresh network for at most --steps batches (default 100) or --max-seconds " +
            "(default 60) while the learning rate grows exponentially from 1e-6 to 10, and suggest the rate where the smoothed loss falls " +
            "fastest (fastai's 'steep'; the minimum's rate / 10 when it never falls). Use it as train's --lr.")
        {
            Data, Arch, Head, Stem, Init, Out, BatchSize, Optimizer, Steps, MaxSeconds, Label, Id, Categorical, Classes, ImageSize, Channels, Seed, Threads, Json,
        };
        command.SetAction(p =>
        {
            var spec = DataSpec.Parse(p.GetValue(Data)!, new DataSpecOptions
            {
                LabelColumn = p.GetValue(Label), IdColumn = p.GetValue(Id), Categorical = p.GetValue(Categorical), Classes = p.GetValue(Classes),
                ImageSize = p.GetValue(ImageSize), Channels = p.GetValue(Channels),
            });
            var threads = p.GetValue(Threads);
            if (threads < 1) throw new ProteaException($"the thread count must be at least 1, not {threads}", "threads");
            var arch = p.GetValue(Arch) ?? Architectures.DefaultFor(spec.Kind == DataSourceKind.Csv ? InputKind.Tabular : InputKind.Image).Name;
            if (p.GetValue(Init) is not null) PretrainedWeights.RequireSupported(arch);
            using var splits = spec.Load();
            var train = splits.Train;
            var recipe = Recipes.DefaultFor(spec.Kind);
            var items = train.Labels.Count(l => l >= 0);
            var baseline = recipe == Recipes.Auto
                ? AutoRecipe.Choose(new AutoRecipe.Inputs(Math.Max(items, 2), train.ClassNames.Count, train.ExampleShape, train.Kind, arch, p.GetValue(Init) is not null))
                : Recipes.Get(recipe);
            var options = baseline with
            {
                Architecture = arch, Head = p.GetValue(Head)!, Stem = p.GetValue(Stem), Init = p.GetValue(Init),
                BatchSize = p.GetValue(BatchSize) ?? baseline.BatchSize, Optimizer = p.GetValue(Optimizer) ?? "sgd",
                Seed = p.GetValue(Seed), Threads = threads,
            };
            torch.set_num_threads(threads);
            torch.manual_seed(options.Seed);
            var result = new LearningRateFinder(options) { MaxSteps = p.GetValue(Steps), MaxSeconds = p.GetValue(MaxSeconds) }.Find(train);
            if (p.GetValue(Out) is { } outDir)
            {
                Directory.CreateDirectory(outDir);
                AtomicFile.WriteAllText(Path.Combine(outDir, CurveFile), JsonSerializer.Serialize(result, ProteaJson.Options));
                LearningRatePlot.Save(Path.Combine(outDir, PlotFile), result);
            }
            if (p.GetValue(Json))
                console.WriteJson(result);
            else
            {
                console.Out.WriteLine($"suggested learning rate: {result.Suggestion:G3} ({(result.Method == "steepest" ? "steepest fall of the smoothed loss" : "lr of the lowest loss / 10")})");
                console.Out.WriteLine($"lowest smoothed loss at lr {result.MinimumLossLearningRate:G3}; {result.Curve.Count} steps of batch {result.BatchSize} with {result.Optimizer} in {result.Seconds:F1} s, " +
                    (result.Stopped switch { "diverged" => $"stopped when the loss diverged at lr {result.Curve[^1].LearningRate:G3}", "time" => "stopped by the time limit", _ => "all steps ran" }));
                if (p.GetValue(Out) is { } dir)
                    console.Out.WriteLine($"curve: {Path.Combine(dir, PlotFile)}, {Path.Combine(dir, CurveFile)}");
            }
            return 0;
        });
        return command;
    }
}

using System.CommandLine;
using Protea.Data;
using Protea.Incremental;
using Protea.IO;
using TorchSharp;

namespace Protea.Cli.Commands;

/// <summary>`protea incremental`: class-incremental (and few-shot) learning on a scenario cut from a data set, one method or several compared.</summary>
public static class IncrementalCommand
{
    public const string Examples = """
        protea incremental --data fashion-mnist --tasks 5 --method ncm --json
        protea incremental --data fashion-mnist --base 6 --increment 1 --tasks 5 --shots 5 --compare ncm,teen,finetune --out runs/fscil
        protea incremental --data fashion-mnist --tasks 5 --compare finetune,joint,ncm,teen,lwf,icarl,protoaug --out runs/cil
        """;

    public const string PlotFile = "incremental.png";
    public const string TableFile = "incremental.md";
    public const string ResultFile = "incremental.json";

    private static readonly Option<string> Data = new("--data") { Description = "fashion-mnist, or a folder of class sub-folders with train/ and test/", Required = true };
    private static readonly Option<int?> Tasks = new("--tasks") { Description = "Number of tasks (steps), default 5 (or as many as --base/--increment fill)" };
    private static readonly Option<int?> Base = new("--base") { Description = "Classes in the first task (default: the same as each increment, B0-IncN)" };
    private static readonly Option<int?> Increment = new("--increment") { Description = "Classes per later task (default: the classes divided evenly over the tasks)" };
    private static readonly Option<int?> Shots = new("--shots") { Description = "Few-shot: training items per new class after the first task (FSCIL)" };
    private static readonly Option<string> Method = new("--method") { Description = $"{string.Join(" | ", IncrementalMethods.Names)}", DefaultValueFactory = _ => "ncm" };
    private static readonly Option<string?> Compare = new("--compare") { Description = "Several methods on the same scenario, comma-separated; writes a plot and a table to --out" };
    private static readonly Option<string> Arch = new("--arch") { Description = "Backbone", DefaultValueFactory = _ => "cnn" };
    private static readonly Option<int> Epochs = new("--epochs") { Description = "Epochs per training step", DefaultValueFactory = _ => 2 };
    private static readonly Option<int?> PerClass = new("--per-class") { Description = "Training items per class in full steps, a seeded sample (default 200; 0: all)", DefaultValueFactory = _ => 200 };
    private static readonly Option<int?> TestPerClass = new("--test-per-class") { Description = "Test items per class evaluated (default 300; 0: all)", DefaultValueFactory = _ => 300 };
    private static readonly Option<int> Memory = new("--memory") { Description = "iCaRL's exemplar memory, in all", DefaultValueFactory = _ => 2000 };
    private static readonly Option<string> Selection = new("--selection") { Description = "Exemplar selection: herding | random", DefaultValueFactory = _ => "herding" };
    private static readonly Option<double> DistillTemperature = new("--distill-temperature") { Description = "Distillation temperature (lwf, icarl)", DefaultValueFactory = _ => 2.0 };
    private static readonly Option<double> TeenAlpha = new("--teen-alpha") { Description = "TEEN: weight of the new prototype against the similarity-weighted old ones", DefaultValueFactory = _ => TeenCalibration.DefaultAlpha };
    private static readonly Option<double> TeenTemperature = new("--teen-temperature") { Description = "TEEN: softmax temperature on cosine similarities", DefaultValueFactory = _ => TeenCalibration.DefaultTemperature };
    private static readonly Option<int> BatchSize = new("--batch-size") { Description = "Batch size", DefaultValueFactory = _ => 32 };
    private static readonly Option<double> Lr = new("--lr") { Description = "Peak learning rate (SGD, OneCycle)", DefaultValueFactory = _ => 0.05 };
    private static readonly Option<int?> ImageSize = new("--image-size") { Description = "Resize images to SIZE x SIZE" };
    private static readonly Option<int?> Channels = new("--channels") { Description = "1 (grayscale) or 3 (RGB)" };
    private static readonly Option<int> Seed = new("--seed") { Description = "Seed for the class order, samples, initialisation and batches", DefaultValueFactory = _ => 0 };
    private static readonly Option<int> Threads = new("--threads") { Description = "CPU threads", DefaultValueFactory = _ => Environment.ProcessorCount };
    private static readonly Option<string?> Out = new("--out") { Description = $"Folder for {ResultFile}, {TableFile} and (with --compare) {PlotFile}" };
    private static readonly Option<bool> Json = new("--json") { Description = "Print one JSON object (with --compare: one per method, in a 'methods' list)" };

    public static Command Create(CliConsole console)
    {
        var command = new Command("incremental",
            "Class-incremental learning: the data's classes in a seeded order are cut into tasks learned one after another; after each step the " +
            "model is tested on every class seen. Reports the accuracy matrix, average incremental accuracy, last accuracy, forgetting and " +
            "backward transfer. Defaults (fashion-mnist: 5 tasks of 2 classes, cnn, 2 epochs of batch 32 per step, 200 training and 300 test items per " +
            "class) run one method in one to three minutes on 2 cores.")
        {
            Data, Tasks, Base, Increment, Shots, Method, Compare, Arch, Epochs, PerClass, TestPerClass, Memory, Selection, DistillTemperature,
            TeenAlpha, TeenTemperature, BatchSize, Lr, ImageSize, Channels, Seed, Threads, Out, Json,
        };
        command.SetAction(p =>
        {
            var spec = DataSpec.Parse(p.GetValue(Data)!, new DataSpecOptions { ImageSize = p.GetValue(ImageSize), Channels = p.GetValue(Channels) });
            var methods = p.GetValue(Compare) is { } list
                ? list.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
                : [p.GetValue(Method)!];
            var options = new IncrementalOptions
            {
                Architecture = p.GetValue(Arch)!, Epochs = p.GetValue(Epochs), BatchSize = p.GetValue(BatchSize), LearningRate = p.GetValue(Lr),
                Memory = p.GetValue(Memory), Selection = p.GetValue(Selection)!, DistillationTemperature = p.GetValue(DistillTemperature),
                TeenAlpha = p.GetValue(TeenAlpha), TeenTemperature = p.GetValue(TeenTemperature), Seed = p.GetValue(Seed),
            };
            foreach (var m in methods) IncrementalMethods.Create(m, options).Dispose();
            var threads = p.GetValue(Threads);
            if (threads < 1) throw new ProteaException($"the thread count must be at least 1, not {threads}", "threads");
            torch.set_num_threads(threads);
            using var splits = spec.Load();
            var scenario = Scenario.Build(splits.Train.ClassNames.Count, p.GetValue(Tasks) ?? (p.GetValue(Base) is null && p.GetValue(Increment) is null ? 5 : null),
                p.GetValue(Base), p.GetValue(Increment), p.GetValue(Shots), p.GetValue(Seed));
            var json = p.GetValue(Json);
            IProgress<IncrementalProgress>? progress = json || !console.Interactive ? null : new Progress(console);
            var results = IncrementalRun.Run(splits, scenario, methods, options, Positive(p.GetValue(PerClass)), Positive(p.GetValue(TestPerClass)), progress);
            if (p.GetValue(Out) is { } outDir)
            {
                Directory.CreateDirectory(outDir);
                AtomicFile.WriteAllText(Path.Combine(outDir, ResultFile), System.Text.Json.JsonSerializer.Serialize(results, ProteaJson.Options));
                IncrementalReport.WriteMarkdown(Path.Combine(outDir, TableFile), results);
                if (results.Count > 1) IncrementalReport.SavePlot(Path.Combine(outDir, PlotFile), results);
            }
            if (json)
            {
                if (results.Count == 1) console.WriteJson(results[0]);
                else console.WriteJson(new { methods = results });
            }
            else
            {
                console.Out.Write(IncrementalReport.ToMarkdown(results));
                if (p.GetValue(Out) is { } dir) console.Out.WriteLine($"written: {dir}");
            }
            return 0;
        });
        return command;
    }

    private static int? Positive(int? value) => value is > 0 ? value : null;

    private sealed class Progress(CliConsole console) : IProgress<IncrementalProgress>
    {
        public void Report(IncrementalProgress p) =>
            console.Error.WriteLine($"{p.Method}: step {p.Step}/{p.Steps}, accuracy {100 * p.Accuracy:F1} % ({p.Seconds:F1} s)");
    }
}

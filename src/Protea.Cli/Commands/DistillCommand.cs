using System.CommandLine;
using Protea.Data;
using Protea.Models;
using Protea.Runs;

namespace Protea.Cli.Commands;

/// <summary>`protea distill`: a teacher model + data -> a smaller student's run folder (knowledge distillation).</summary>
public static class DistillCommand
{
    public const string Examples = """
        protea distill --teacher runs/cnn --data fashion-mnist --arch cnn --width 0.5 --out runs/cnn-half
        protea distill --teacher runs/resnet --data photos/ --arch cnn --temperature 4 --alpha 0.9 --feature-distill --out runs/student
        """;

    private static readonly Option<string> Teacher = new("--teacher") { Description = "The teacher's model folder (a protea train run)", Required = true };
    private static readonly Option<string> Data = new("--data") { Description = "Training data with the teacher's classes and input shape (fashion-mnist, a folder, a .csv)", Required = true };
    private static readonly Option<string> Out = new("--out") { Description = "Run folder to write for the student", Required = true };
    private static readonly Option<string?> Arch = new("--arch") { Description = $"Student backbone: {string.Join(" | ", Architectures.BackboneNames)} (default: the teacher's)" };
    private static readonly Option<double?> Width = new("--width") { Description = "Student channel multiplier (0.5: half as wide; default 1)" };
    private static readonly Option<string?> Head = new("--head") { Description = $"Student head: {string.Join(" | ", Architectures.HeadNames)} (default: the teacher's)" };
    private static readonly Option<double> Temperature = new("--temperature") { Description = "Soft-target temperature T", DefaultValueFactory = _ => Training.Objectives.DistillationObjective.DefaultTemperature };
    private static readonly Option<double> Alpha = new("--alpha") { Description = "Weight of the soft targets; the labels' cross-entropy gets 1 - alpha", DefaultValueFactory = _ => Training.Objectives.DistillationObjective.DefaultAlpha };
    private static readonly Option<bool> FeatureDistill = new("--feature-distill") { Description = "Also match the teacher's embedding through a learned projection (not saved)" };
    private static readonly Option<int?> Epochs = new("--epochs") { Description = "Number of epochs (default: the teacher's recipe)" };
    private static readonly Option<int?> BatchSize = new("--batch-size") { Description = "Batch size (default: the teacher's recipe)" };
    private static readonly Option<double?> Lr = new("--lr") { Description = "Peak learning rate (default: the teacher's recipe)" };
    private static readonly Option<double?> Validation = new("--validation") { Description = "Fraction held out for per-epoch validation (0 = none)" };
    private static readonly Option<int?> Limit = new("--limit") { Description = "Train on a seeded random subset of N examples" };
    private static readonly Option<int> Seed = new("--seed") { Description = "Seed for initialisation, shuffling and augmentation", DefaultValueFactory = _ => 0 };
    private static readonly Option<int> Threads = new("--threads") { Description = "CPU threads", DefaultValueFactory = _ => Environment.ProcessorCount };
    private static readonly Option<bool> Json = new("--json") { Description = "Print one JSON object with the results (no progress)" };

    public static Command Create(CliConsole console)
    {
        var command = new Command("distill", "Train a smaller student from a saved teacher (soft targets with temperature).")
        {
            Teacher, Data, Out, Arch, Width, Head, Temperature, Alpha, FeatureDistill, Epochs, BatchSize, Lr, Validation, Limit, Seed, Threads, Json,
        };
        command.SetAction(p =>
        {
            var teacherDir = p.GetValue(Teacher)!;
            var spec = DataSpec.Parse(p.GetValue(Data)!, new DataSpecOptions());
            var r = DistillationRun.StudentDefaults(teacherDir);
            var options = r with
            {
                Architecture = p.GetValue(Arch) ?? r.Architecture,
                Stem = p.GetValue(Arch) is { } arch && arch != r.Architecture ? null : r.Stem,
                Width = p.GetValue(Width) ?? 1,
                Head = p.GetValue(Head) ?? r.Head,
                Epochs = p.GetValue(Epochs) ?? r.Epochs,
                BatchSize = p.GetValue(BatchSize) ?? r.BatchSize,
                LearningRate = p.GetValue(Lr) ?? r.LearningRate,
                ValidationFraction = p.GetValue(Validation) ?? r.ValidationFraction,
                Limit = p.GetValue(Limit),
                Seed = p.GetValue(Seed),
                Threads = p.GetValue(Threads),
            };
            var settings = new DistillationSettings(teacherDir, p.GetValue(Temperature), p.GetValue(Alpha), p.GetValue(FeatureDistill) ? 1 : 0);
            var json = p.GetValue(Json);
            var progress = new TrainingProgressPrinter(console.Error, live: console.Interactive, quiet: json);
            var result = DistillationRun.Execute(spec, options, settings, p.GetValue(Out)!, progress);
            if (json)
                console.WriteJson(result);
            else
                SummaryTable.Write(console, result);
            return 0;
        });
        return command;
    }
}

using System.CommandLine;
using Protea.Data;
using Protea.Incremental;
using Protea.Models;
using Protea.Predictions;
using TorchSharp;

namespace Protea.Cli.Commands;

/// <summary>`protea learn-class`: adds classes to a saved model from a few images, without training.</summary>
public static class LearnClassCommand
{
    public const string Examples = """
        protea learn-class --model runs/fmnist --data new-classes/
        protea learn-class --model runs/fmnist --data photos/boots --name boot --method teen --test fashion-mnist
        """;

    private static readonly Option<string> Model = new("--model") { Description = "Model folder (as train writes it); its head must be ncm or cosine", Required = true };
    private static readonly Option<string> Data = new("--data") { Description = "A folder of class sub-folders (one class each), or a flat folder of images with --name", Required = true };
    private static readonly Option<string?> Name = new("--name") { Description = "Class name for a flat folder of images" };
    private static readonly Option<string> Method = new("--method") { Description = "ncm (class mean of normalised embeddings) | teen (calibrated towards similar old classes) | icarl", DefaultValueFactory = _ => "ncm" };
    private static readonly Option<string?> Test = new("--test") { Description = "Data of the model's classes (its test split) on which to count predictions that moved" };
    private static readonly Option<int> Threads = new("--threads") { Description = "CPU threads", DefaultValueFactory = _ => Environment.ProcessorCount };
    private static readonly Option<bool> Json = new("--json") { Description = "Print one JSON object" };

    public static Command Create(CliConsole console)
    {
        var command = new Command("learn-class",
            "Add classes to a saved model from a few images, without training: each new class is the mean of its images' normalised " +
            "embeddings (ncm), or that mean calibrated towards similar old classes (teen, Wang et al. 2023). The old classes score as " +
            "before. The grown model replaces the old one atomically; an existing model.onnx is exported again.")
        {
            Model, Data, Name, Method, Test, Threads, Json,
        };
        command.SetAction(p =>
        {
            var modelDir = p.GetValue(Model)!;
            var threads = p.GetValue(Threads);
            if (threads < 1) throw new ProteaException($"the thread count must be at least 1, not {threads}", "threads");
            torch.set_num_threads(threads);
            var description = ModelBundle.ReadDescription(modelDir);
            var method = p.GetValue(Method)!;
            if (!ClassLearner.Methods.Contains(method))
                throw new ProteaException($"method '{method}' is not known for adding classes; known: {string.Join(", ", ClassLearner.Methods)}", "method");
            var classes = ClassLearner.ReadFolder(p.GetValue(Data)!, p.GetValue(Name), description);
            Dataset? test = null;
            try
            {
                if (p.GetValue(Test) is { } testSpec)
                    test = ModelInputs.ForModel(DataSpec.Parse(testSpec), description).LoadEvaluationSet().Data;
                var result = ClassLearner.AddClasses(modelDir, classes, method, test);
                if (p.GetValue(Json)) console.WriteJson(result);
                else
                {
                    console.Out.WriteLine($"added {string.Join(", ", result.Added)} ({result.ImagesUsed} images, {result.Method}): {result.ClassesBefore} -> {result.ClassesAfter} classes; model.onnx: {result.Onnx}");
                    if (result.Moved is { } moved)
                        console.Out.WriteLine($"{moved} of {result.OldItems} test items changed prediction, {result.MovedToNewClass} of them to a new class");
                }
            }
            finally
            {
                test?.Dispose();
                foreach (var c in classes) c.Images.Dispose();
            }
            return 0;
        });
        return command;
    }
}

using System.CommandLine;
using Protea.Data;
using Protea.Incremental;
using Protea.Models;
using Protea.Predictions;
using TorchSharp;

namespace Protea.Cli.Commands;

/// <summary>`protea learn-class`: adds classes to a saved model from a few images (ncm/teen without training, icarl with).</summary>
public static class LearnClassCommand
{
    public const string Examples = """
        protea learn-class --model runs/fmnist --data new-classes/
        protea learn-class --model runs/fmnist --data photos/boots --name boot --method teen --test fashion-mnist
        protea learn-class --model runs/fmnist --data photos/boots --name boot --method icarl --old-data fashion-mnist --memory 2000
        """;

    private static readonly Option<string> Model = new("--model") { Description = "Model folder (as train writes it); for ncm and teen its head must be ncm or cosine", Required = true };
    private static readonly Option<string> Data = new("--data") { Description = "A folder of class sub-folders (one class each), or a flat folder of images with --name", Required = true };
    private static readonly Option<string?> Name = new("--name") { Description = "Class name for a flat folder of images" };
    private static readonly Option<string> Method = new("--method") { Description = "ncm (class mean of normalised embeddings) | teen (calibrated towards similar old classes) | icarl (fine-tunes on the new images and herded exemplars of --old-data, with distillation)", DefaultValueFactory = _ => "ncm" };
    private static readonly Option<string?> OldData = new("--old-data") { Description = "icarl: the old classes' training data, to keep exemplars of" };
    private static readonly Option<int> Memory = new("--memory") { Description = "icarl: exemplars kept in all, split evenly over old and new classes", DefaultValueFactory = _ => 2000 };
    private static readonly Option<int> Epochs = new("--epochs") { Description = "icarl: fine-tuning epochs", DefaultValueFactory = _ => 4 };
    private static readonly Option<string?> Test = new("--test") { Description = "Data of the model's classes (its test split) on which to count predictions that moved" };
    private static readonly Option<int> Threads = new("--threads") { Description = "CPU threads", DefaultValueFactory = _ => Environment.ProcessorCount };
    private static readonly Option<bool> Json = new("--json") { Description = "Print one JSON object" };

    public static Command Create(CliConsole console)
    {
        var command = new Command("learn-class",
            "Add classes to a saved model from a few images. Without training: each new class is the mean of its images' normalised " +
            "embeddings (ncm), or that mean calibrated towards similar old classes (teen, Wang et al. 2023); the old classes score as " +
            "before. With icarl (Rebuffi et al. 2017) the model is fine-tuned on the new images plus exemplars herded from --old-data, " +
            "distilling the old model's logits, then classifies by the mean of exemplars. The grown model replaces the old one " +
            "atomically; an existing model.onnx is exported again.")
        {
            Model, Data, Name, Method, OldData, Memory, Epochs, Test, Threads, Json,
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
            DataSplits? old = null;
            try
            {
                if (p.GetValue(Test) is { } testSpec)
                    test = ModelInputs.ForModel(DataSpec.Parse(testSpec), description).LoadEvaluationSet().Data;
                IcarlLearning? icarl = null;
                if (method == "icarl")
                {
                    var oldSpec = p.GetValue(OldData) ?? throw new ProteaException("method 'icarl' needs the old classes' training data to keep exemplars of", "old_data");
                    old = ModelInputs.ForModel(DataSpec.Parse(oldSpec), description).Load();
                    icarl = new IcarlLearning(old.Train) { Memory = p.GetValue(Memory), Epochs = p.GetValue(Epochs) };
                }
                var result = ClassLearner.AddClasses(modelDir, classes, method, test, icarl: icarl);
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
                old?.Dispose();
                foreach (var c in classes) c.Images.Dispose();
            }
            return 0;
        });
        return command;
    }
}

using System.CommandLine;
using Protea.Data;
using Protea.Deploy;
using Protea.Discovery;

namespace Protea.Cli.Commands;

/// <summary>`protea calibrate-unknown`: fits an unknown scorer and its 95 %-TPR threshold into a saved model.</summary>
public static class CalibrateUnknownCommand
{
    public const string Examples = """
        protea calibrate-unknown --model runs/quickstart --data fashion-mnist
        protea calibrate-unknown --model runs/quickstart --data fashion-mnist --scorer mahalanobis --json
        protea calibrate-unknown --model runs/iris --data iris.csv --label species --scorer knn
        """;

    private static readonly Option<string> Model = new("--model") { Description = "Model folder (model.safetensors + model.json); model.json gets an \"unknown\" section", Required = true };
    private static readonly Option<string> Data = new("--data") { Description = "The model's known classes: fashion-mnist, a folder of class sub-folders, or a .csv file", Required = true };
    private static readonly Option<string?> Label = new("--label") { Description = "CSV label column" };
    private static readonly Option<string?> Id = new("--id") { Description = "CSV id column, never a feature (default: a column named id, if any)" };
    private static readonly Option<string?> Classes = new("--classes") { Description = "Only these classes: indices into the sorted class list (0-4,7) or names (cat,dog)" };
    private static readonly Option<string> Scorer = new("--scorer") { Description = $"Unknown scorer: {string.Join(" | ", UnknownScorers.Names)} (default {UnknownScorers.Default}: needs no statistics, works with every head)", DefaultValueFactory = _ => UnknownScorers.Default };
    private static readonly Option<double> Temperature = new("--temperature") { Description = "Energy temperature T in −T·logsumexp(logits/T)", DefaultValueFactory = _ => 1.0 };
    private static readonly Option<int> K = new("--k") { Description = "knn: distance to the k-th nearest training embedding", DefaultValueFactory = _ => 50 };
    private static readonly Option<double?> Shrinkage = new("--shrinkage") { Description = "mahalanobis: covariance shrinkage towards a scaled identity, 0-1 (default: the Ledoit-Wolf estimate)" };
    private static readonly Option<string> Engine = new("--engine") { Description = "torch | onnx | auto", DefaultValueFactory = _ => "auto" };
    private static readonly Option<int> Threads = new("--threads") { Description = "CPU threads", DefaultValueFactory = _ => Environment.ProcessorCount };
    private static readonly Option<bool> Json = new("--json") { Description = "Print one JSON object: scorer, threshold, fit_examples, held_out_examples, held_out_split, known_kept" };

    public static Command Create(CliConsole console)
    {
        var command = new Command("calibrate-unknown", "Fit an unknown-input scorer on the model's training data and set its threshold so 95 % of held-out known items (the data's test split, else 20 % of its training data) count as known; saved in the model folder, used by `protea predict`.")
        { Model, Data, Label, Id, Classes, Scorer, Temperature, K, Shrinkage, Engine, Threads, Json };
        var loading = new DataLoadFlags();
        loading.AddTo(command);
        command.SetAction(p =>
        {
            var scorer = UnknownScorers.Check(p.GetValue(Scorer));
            var choice = InferenceEngines.ParseChoice(p.GetValue(Engine));
            var modelDir = p.GetValue(Model)!;
            HostSetup.SetTorchThreads(p.GetValue(Threads));
            var spec = loading.Apply(p, DataSpec.Parse(p.GetValue(Data)!, new DataSpecOptions { LabelColumn = p.GetValue(Label), IdColumn = p.GetValue(Id), Classes = p.GetValue(Classes) }),
                console, p.GetValue(Json));
            var result = UnknownCalibration.Calibrate(modelDir, spec, scorer,
                new UnknownScorerOptions { Temperature = p.GetValue(Temperature), K = p.GetValue(K), Shrinkage = p.GetValue(Shrinkage) }, choice, p.GetValue(Threads));
            if (p.GetValue(Json)) console.WriteJson(result);
            else console.Out.WriteLine($"{modelDir}: unknown scorer {result.Scorer}, threshold {result.Threshold:G6} " +
                $"(keeps {result.KnownKept:P1} of {result.HeldOutExamples} held-out known items, {result.HeldOutSplit} split; fitted on {result.FitExamples})");
            return 0;
        });
        return command;
    }
}

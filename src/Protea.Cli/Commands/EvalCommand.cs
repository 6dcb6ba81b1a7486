using System.CommandLine;
using Protea.Data;
using Protea.Deploy;
using Protea.Evaluation;

namespace Protea.Cli.Commands;

/// <summary>`protea eval`: metrics of a saved model on a data spec's test split (or all of it when it has none).</summary>
public static class EvalCommand
{
    public const string Examples = """
        protea eval --model runs/quickstart --data fashion-mnist
        protea eval --model runs/quickstart --data fashion-mnist --engine onnx --threads 2 --json
        protea eval --model runs/iris --data iris.csv --label species --json
        """;

    private static readonly Option<string> Model = new("--model") { Description = "Model folder (model.safetensors + model.json)", Required = true };
    private static readonly Option<string> Data = new("--data") { Description = "fashion-mnist, a folder of class sub-folders, or a .csv file", Required = true };
    private static readonly Option<string?> Label = new("--label") { Description = "CSV label column" };
    private static readonly Option<string?> Id = new("--id") { Description = "CSV id column, never a feature (default: a column named id, if any)" };
    private static readonly Option<string?> Classes = new("--classes") { Description = "Only these classes: indices into the sorted class list (0-4,7) or names (cat,dog)" };
    private static readonly Option<string> Engine = new("--engine") { Description = "torch | onnx | auto (ONNX Runtime when a current export exists)", DefaultValueFactory = _ => "auto" };
    private static readonly Option<int> Threads = new("--threads") { Description = "CPU threads", DefaultValueFactory = _ => Environment.ProcessorCount };
    private static readonly Option<bool> Json = new("--json") { Description = "Print one JSON object: accuracy, top5_accuracy, ece, per_class, confusion, ..." };

    public static Command Create(CliConsole console)
    {
        var command = new Command("eval", "Evaluate a saved model: accuracy, top-5, per-class precision/recall/F1, confusion matrix, ECE. Uses the data's test split when it has one (fashion-mnist, a folder with test/), else all of it.")
        { Model, Data, Label, Id, Classes, Engine, Threads, Json };
        var loading = new DataLoadFlags();
        loading.AddTo(command);
        command.SetAction(p =>
        {
            var choice = InferenceEngines.ParseChoice(p.GetValue(Engine)); // a bad --engine fails before any data is read
            var modelDir = p.GetValue(Model)!;
            HostSetup.SetTorchThreads(p.GetValue(Threads));
            var spec = loading.Apply(p, DataSpec.Parse(p.GetValue(Data)!,
                new DataSpecOptions { LabelColumn = p.GetValue(Label), IdColumn = p.GetValue(Id), Classes = p.GetValue(Classes) }), console, p.GetValue(Json));
            var result = Evaluator.Evaluate(modelDir, spec, choice, p.GetValue(Threads));
            if (result.PassedOverExport) HostSetup.NoteStaleExport(console, modelDir);
            if (p.GetValue(Json))
            {
                // The metrics at top level (the documented contract), plus where they came from.
                var json = System.Text.Json.JsonSerializer.SerializeToNode(result.Report, IO.ProteaJson.Options)!.AsObject();
                json["engine"] = result.Engine;
                json["data"] = result.Data;
                json["split"] = result.Split;
                console.WriteJson(json);
            }
            else
                SummaryTable.Write(console, $"{modelDir} on {result.Data} ({result.Split} split, {result.Engine} engine)", result.Report);
            return 0;
        });
        return command;
    }
}

using System.CommandLine;
using Protea.Data;
using Protea.Deploy;
using Protea.Evaluation;
using Protea.Models;

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
        command.SetAction(p =>
        {
            InferenceEngines.ParseChoice(p.GetValue(Engine)); // a bad --engine fails before any data is read
            var modelDir = p.GetValue(Model)!;
            var description = ModelBundle.ReadDescription(modelDir);
            var spec = ForModel(DataSpec.Parse(p.GetValue(Data)!,
                new DataSpecOptions { LabelColumn = p.GetValue(Label), IdColumn = p.GetValue(Id), Classes = p.GetValue(Classes) }), description);
            var (data, isTest) = spec.LoadEvaluationSet();
            using var _ = data;
            var split = isTest ? "test" : "all";
            CheckCompatible(data, description, spec);
            using var engine = EngineOpener.Open(console, modelDir, p.GetValue(Engine), p.GetValue(Threads));
            var output = InferenceEngines.RunAll(engine, data);
            var labels = MapLabels(data, description);
            var report = ClassificationMetrics.Evaluate(output.Logits, labels, description.ClassNames);
            if (p.GetValue(Json))
            {
                // The metrics at top level (the documented contract), plus where they came from.
                var json = System.Text.Json.JsonSerializer.SerializeToNode(report, IO.ProteaJson.Options)!.AsObject();
                json["engine"] = engine.Name;
                json["data"] = spec.ToString();
                json["split"] = split;
                console.WriteJson(json);
            }
            else
                SummaryTable.Write(console, $"{modelDir} on {spec} ({split} split, {engine.Name} engine)", report);
            return 0;
        });
        return command;
    }

    /// <summary>Images are read at the size and channel count the model was trained on; CSV ids as the model's features allow.</summary>
    public static DataSpec ForModel(DataSpec spec, ModelDescription d) =>
        d.InputKind == InputKind.Image && spec.Kind != DataSourceKind.Csv
            ? spec with { ImageSize = (int)d.InputShape[^1], Channels = (int)d.InputShape[0] }
            : spec.Kind == DataSourceKind.Csv ? spec with { IdColumn = CsvReader.IdColumnFor(d.FeatureNames, spec.IdColumn) } : spec;

    public static void CheckCompatible(Dataset data, ModelDescription d, DataSpec spec)
    {
        if (data.Kind != d.InputKind)
            throw new ProteaException($"--data {spec}: {data.Kind.ToString().ToLowerInvariant()} data, but the model takes {d.InputKind.ToString().ToLowerInvariant()} input");
        if (!data.ExampleShape.SequenceEqual(d.InputShape))
            throw new ProteaException($"--data {spec}: examples have shape [{string.Join(", ", data.ExampleShape)}], the model takes [{string.Join(", ", d.InputShape)}]");
    }

    /// <summary>Re-indexes the data's labels into the model's class list by name; unknown names count as unlabelled.</summary>
    public static long[] MapLabels(Dataset data, ModelDescription d)
    {
        var index = d.ClassNames.Select((name, i) => (name, i)).ToDictionary(x => x.name, x => (long)x.i);
        var unknown = data.ClassNames.Where(n => !index.ContainsKey(n)).ToList();
        if (unknown.Count == data.ClassNames.Count)
            throw new ProteaException($"{data.Source}: none of its classes ({string.Join(", ", data.ClassNames.Take(5))}) are classes of the model ({string.Join(", ", d.ClassNames.Take(5))})");
        return data.Labels.Select(l => l >= 0 && index.TryGetValue(data.ClassNames[(int)l], out var m) ? m : -1).ToArray();
    }
}

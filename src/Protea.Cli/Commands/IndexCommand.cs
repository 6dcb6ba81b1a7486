using System.CommandLine;
using System.Diagnostics;
using Protea.Data;
using Protea.Deploy;
using Protea.Search;

namespace Protea.Cli.Commands;

/// <summary>`protea index`: a model's L2-normalised embeddings of a data set's training items, saved as one search index file.</summary>
public static class IndexCommand
{
    public const string Examples = """
        protea index --model runs/quickstart --data fashion-mnist --out runs/quickstart/train.index
        protea index --model runs/pets --data photos/ --out pets.index --threads 2
        """;

    private static readonly Option<string> Model = new("--model") { Description = "Model folder (model.safetensors + model.json)", Required = true };
    private static readonly Option<string> Data = new("--data") { Description = "fashion-mnist, a folder of class sub-folders, or a .csv file (its training split is indexed)", Required = true };
    private static readonly Option<string> Out = new("--out") { Description = "Index file to write (safetensors)", Required = true };
    private static readonly Option<string?> Label = new("--label") { Description = "CSV label column" };
    private static readonly Option<string?> Id = new("--id") { Description = "CSV id column (default: a column named id, if any)" };
    private static readonly Option<string?> Classes = new("--classes") { Description = "Only these classes: indices into the sorted class list (0-4,7) or names (cat,dog)" };
    private static readonly Option<string> Engine = new("--engine") { Description = "torch | onnx | auto", DefaultValueFactory = _ => "auto" };
    private static readonly Option<int> Threads = new("--threads") { Description = "CPU threads", DefaultValueFactory = _ => Environment.ProcessorCount };

    public static Command Create(CliConsole console)
    {
        var command = new Command("index", "Embed a data set's training items with a saved model and save them as a search index for `protea search`.")
        { Model, Data, Out, Label, Id, Classes, Engine, Threads };
        var loading = new DataLoadFlags();
        loading.AddTo(command);
        command.SetAction(p =>
        {
            var choice = InferenceEngines.ParseChoice(p.GetValue(Engine));
            HostSetup.SetTorchThreads(p.GetValue(Threads));
            var spec = loading.Apply(p, DataSpec.Parse(p.GetValue(Data)!,
                new DataSpecOptions { LabelColumn = p.GetValue(Label), IdColumn = p.GetValue(Id), Classes = p.GetValue(Classes) }), console, json: false);
            var clock = Stopwatch.StartNew();
            using var index = EmbeddingIndex.Build(p.GetValue(Model)!, spec, choice, p.GetValue(Threads));
            var out_ = p.GetValue(Out)!;
            index.Save(out_);
            console.Out.WriteLine($"{out_}: {index.Count} items x {index.Dimension} dimensions from {index.Data} in {clock.Elapsed.TotalSeconds:0.0} s");
            return 0;
        });
        return command;
    }
}

using System.CommandLine;
using System.Globalization;
using System.Text.Json;
using Protea.Data;
using Protea.Deploy;
using Protea.Evaluation;
using Protea.IO;
using Protea.Reports;

namespace Protea.Cli.Commands;

/// <summary>`protea separability`: how well a model's embeddings separate the classes of a data set.</summary>
public static class SeparabilityCommand
{
    public const string Examples = """
        protea separability --model runs/quickstart --data fashion-mnist
        protea separability --model runs/pets --data photos/ --out runs/pets/separability --json
        """;

    public const string JsonFile = "separability.json";
    public const string MapFile = "map.png";
    public const string ConfusionFile = "neighbour-confusion.png";

    private static readonly Option<string> Model = new("--model") { Description = "Model folder (model.safetensors + model.json)", Required = true };
    private static readonly Option<string> Data = new("--data") { Description = "fashion-mnist, a folder of class sub-folders, or a .csv file (its test split, else its items)", Required = true };
    private static readonly Option<string?> Out = new("--out") { Description = "Folder for separability.json, map.png (2-D PCA, coloured by class) and neighbour-confusion.png" };
    private static readonly Option<int> MaxItems = new("--max-items") { Description = "Measure a seeded sample of at most N items (silhouette costs N^2)", DefaultValueFactory = _ => Separability.DefaultMaxItems };
    private static readonly Option<string?> Label = new("--label") { Description = "CSV label column" };
    private static readonly Option<string?> Id = new("--id") { Description = "CSV id column (default: a column named id, if any)" };
    private static readonly Option<string?> Classes = new("--classes") { Description = "Only these classes: indices into the sorted class list (0-4,7) or names (cat,dog)" };
    private static readonly Option<string> Engine = new("--engine") { Description = "torch | onnx | auto", DefaultValueFactory = _ => "auto" };
    private static readonly Option<int> Seed = new("--seed") { Description = "Seed of the sample", DefaultValueFactory = _ => 0 };
    private static readonly Option<int> Threads = new("--threads") { Description = "CPU threads", DefaultValueFactory = _ => Environment.ProcessorCount };
    private static readonly Option<bool> Json = new("--json") { Description = "Print one JSON object" };

    public static Command Create(CliConsole console)
    {
        var command = new Command("separability", "Measure how well a model's embeddings separate the classes: scatter ratio, silhouette, nearest-neighbour confusion, a 2-D map.")
        { Model, Data, Out, MaxItems, Label, Id, Classes, Engine, Seed, Threads, Json };
        command.SetAction(p =>
        {
            var choice = InferenceEngines.ParseChoice(p.GetValue(Engine));
            HostSetup.SetTorchThreads(p.GetValue(Threads));
            var spec = DataSpec.Parse(p.GetValue(Data)!,
                new DataSpecOptions { LabelColumn = p.GetValue(Label), IdColumn = p.GetValue(Id), Classes = p.GetValue(Classes) });
            var report = Separability.Run(p.GetValue(Model)!, spec, choice, p.GetValue(Threads), p.GetValue(MaxItems), p.GetValue(Seed));
            if (p.GetValue(Out) is { } dir)
            {
                Directory.CreateDirectory(dir);
                AtomicFile.WriteAllText(Path.Combine(dir, JsonFile), JsonSerializer.Serialize(report, ProteaJson.Options));
                EmbeddingMapPlot.Save(Path.Combine(dir, MapFile), report.Map, report.Labels, report.ClassNames,
                    $"Embeddings, first two principal components ({report.Items:N0} {report.Split} items)");
                ConfusionPlot.Save(Path.Combine(dir, ConfusionFile), report.NeighbourConfusion, report.ClassNames);
            }
            if (p.GetValue(Json))
            {
                console.WriteJson(report);
                return 0;
            }
            var c = CultureInfo.InvariantCulture;
            console.Out.WriteLine($"{report.Data} ({report.Split}, {report.Items:N0} items, {report.Classes} classes, {report.EmbeddingDim}-d, L2-normalised)");
            console.Out.WriteLine(string.Format(c, "between/within scatter  {0:0.000}", report.ScatterRatio));
            console.Out.WriteLine(string.Format(c, "silhouette              {0:0.000}", report.Silhouette));
            console.Out.WriteLine(string.Format(c, "nearest-neighbour acc.  {0:0.0} %", 100 * report.NeighbourAccuracy));
            console.Out.WriteLine(string.Format(c, "k-means NMI             {0:0.000}", report.KMeansNmi));
            var width = Math.Max(5, report.PerClass.Max(x => x.Class.Length));
            console.Out.WriteLine($"{"class".PadRight(width)}  items  nn acc.  silhouette  most confused with");
            foreach (var x in report.PerClass)
                console.Out.WriteLine(string.Format(c, "{0}  {1,5}  {2,6:0.0}%  {3,10:0.000}  {4}", x.Class.PadRight(width), x.Items, 100 * x.NeighbourAccuracy,
                    x.Silhouette, x.MostConfusedWith is null ? "-" : string.Format(c, "{0} ({1:0.0} %)", x.MostConfusedWith, 100 * x.MostConfusedShare)));
            return 0;
        });
        return command;
    }
}

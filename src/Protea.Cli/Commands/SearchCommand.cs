using System.CommandLine;
using Protea.Data;
using Protea.Deploy;
using Protea.Search;

namespace Protea.Cli.Commands;

/// <summary>`protea search`: the indexed items nearest to query files, or Recall@K and mAP@R of a whole test set.</summary>
public static class SearchCommand
{
    public const string Examples = """
        protea search --index runs/quickstart/train.index shoe.png --top 5
        protea search --index pets.index query.jpg --json --out grids/
        protea search --index runs/quickstart/train.index --data fashion-mnist
        """;

    private static readonly Option<string> Index = new("--index") { Description = "Index file written by `protea index`", Required = true };
    private static readonly Argument<string[]> Files = new("files") { Description = "Query images (image models) or CSV files of feature rows (tabular models)", Arity = ArgumentArity.ZeroOrMore };
    private static readonly Option<string?> Model = new("--model") { Description = "Model folder (default: the one the index was built with)" };
    private static readonly Option<string?> Data = new("--data") { Description = "Query a whole test set instead of files and print Recall@1,2,4,8 and mAP@R" };
    private static readonly Option<string?> Label = new("--label") { Description = "CSV label column (with --data)" };
    private static readonly Option<string?> Id = new("--id") { Description = "CSV id column (with --data)" };
    private static readonly Option<int> Top = new("--top") { Description = "How many items to list per query", DefaultValueFactory = _ => 5 };
    private static readonly Option<bool> Json = new("--json") { Description = "Print one JSON object: {\"queries\": [{\"query\", \"results\": [{\"id\", \"path\", \"label\", \"similarity\"}]}]}" };
    private static readonly Option<string?> Out = new("--out") { Description = "Folder for a PNG per query: the query and its hits (image-folder indexes)" };
    private static readonly Option<string> Engine = new("--engine") { Description = "torch | onnx | auto", DefaultValueFactory = _ => "auto" };
    private static readonly Option<int> Threads = new("--threads") { Description = "CPU threads", DefaultValueFactory = _ => Environment.ProcessorCount };

    /// <summary>What `--json` prints: exactly these fields.</summary>
    public sealed record HitLine(string Id, string? Path, string? Label, double Similarity);
    public sealed record QueryLine(string Query, IReadOnlyList<HitLine> Results);
    public sealed record SearchOutput(IReadOnlyList<QueryLine> Queries);

    public static Command Create(CliConsole console)
    {
        var command = new Command("search", "Find the indexed items most like each query (exact cosine search), or measure retrieval on a test set with --data.")
        { Index, Files, Model, Data, Label, Id, Top, Json, Out, Engine, Threads };
        var loading = new DataLoadFlags();
        loading.AddTo(command);
        command.SetAction(p =>
        {
            var choice = InferenceEngines.ParseChoice(p.GetValue(Engine));
            var files = p.GetValue(Files) ?? [];
            var data = p.GetValue(Data);
            if (data is null && files.Length == 0)
                throw new ProteaException("no queries: give query files, or a data set whose test split to query", "data");
            if (data is not null && files.Length > 0)
                throw new ProteaException("give query files or a data set to query, not both", "data");
            HostSetup.SetTorchThreads(p.GetValue(Threads));
            var indexPath = p.GetValue(Index)!;
            using var searcher = Searcher.Open(indexPath, p.GetValue(Model), choice, p.GetValue(Threads));
            if (searcher.PassedOverExport) HostSetup.NoteStaleExport(console, searcher.ModelDirectory);
            if (data is not null)
            {
                var spec = loading.Apply(p, DataSpec.Parse(data, new DataSpecOptions { LabelColumn = p.GetValue(Label), IdColumn = p.GetValue(Id) }), console, p.GetValue(Json));
                var e = searcher.Evaluate(spec);
                if (p.GetValue(Json)) console.WriteJson(e);
                else
                {
                    console.Out.WriteLine($"{e.Queries} queries from {e.Data} ({e.Split} split) against {searcher.Index.Count} indexed items of {searcher.Index.Data}");
                    foreach (var (k, v) in e.RecallAtK) console.Out.WriteLine($"Recall@{k}: {v:P2}");
                    console.Out.WriteLine($"mAP@R:    {e.MapAtR:P2}");
                }
                return 0;
            }
            var top = p.GetValue(Top);
            var results = searcher.SearchFiles(files, top);
            if (p.GetValue(Out) is { } outDir)
            {
                if (searcher.Index.DataRoot is null || searcher.Index.Kind != InputKind.Image)
                    throw new ProteaException($"{indexPath}: its items have no image files ({searcher.Index.Data}), so no picture of the hits can be drawn; index a folder of images", "out");
                Directory.CreateDirectory(outDir);
                for (var i = 0; i < results.Count; i++)
                {
                    // A CSV or an image: one file per query; the query names its file.
                    var name = $"{i + 1:000}-{Path.GetFileNameWithoutExtension(results[i].Query)}.png";
                    SearchGrid.Save(Path.Combine(outDir, name), results[i].Query, results[i]);
                }
            }
            if (p.GetValue(Json))
                console.WriteJson(new SearchOutput(results.Select(r => new QueryLine(r.Query,
                    r.Hits.Select(h => new HitLine(h.Id, h.Path, h.Label, h.Similarity)).ToList())).ToList()));
            else
                foreach (var r in results)
                {
                    console.Out.WriteLine($"{r.Query}:");
                    foreach (var h in r.Hits)
                        console.Out.WriteLine($"  {h.Similarity:0.0000}  {h.Label ?? "(unlabelled)",-16} {h.Path ?? h.Id}");
                }
            return 0;
        });
        return command;
    }
}

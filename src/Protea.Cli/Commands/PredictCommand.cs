using System.CommandLine;
using Protea.Deploy;
using Protea.Models;
using Protea.Predictions;

namespace Protea.Cli.Commands;

/// <summary>`protea predict`: top-k classes with probabilities for image files (or the rows of a CSV file).</summary>
public static class PredictCommand
{
    public const string Examples = """
        protea predict --model runs/quickstart shoe.png shirt.jpg
        protea predict --model runs/quickstart --top 5 --json images/*.png
        protea predict --model runs/iris flowers.csv --json
        protea predict --model runs/parts --explain --out panels shoe.png
        """;

    private static readonly Option<string> Model = new("--model") { Description = "Model folder", Required = true };
    private static readonly Argument<string[]> Files = new("files") { Description = "PNG/JPEG images or folders of them (image models), or CSV files of feature rows (tabular models)", Arity = ArgumentArity.OneOrMore };
    private static readonly Option<int> Top = new("--top") { Description = "How many classes to list per input", DefaultValueFactory = _ => Predictor.DefaultTop };
    private static readonly Option<string> Engine = new("--engine") { Description = "torch | onnx | auto", DefaultValueFactory = _ => "auto" };
    private static readonly Option<int> Threads = new("--threads") { Description = "CPU threads", DefaultValueFactory = _ => Environment.ProcessorCount };
    private static readonly Option<bool> Json = new("--json") { Description = "Print one JSON object" };
    private static readonly Option<bool> Explain = new("--explain") { Description = "Say why: parts models list the prototypes that drove each decision (similarity, contribution to the logit, its share, the most activated patch and the training patch the prototype came from); other models the nearest training items of the predicted class (trained with --keep-index)" };
    private static readonly Option<string?> Out = new("--out") { Description = "With --explain: a folder for one PNG panel per input (the input under each top prototype's heat map beside the prototype's source patch)" };

    /// <summary>What `--json` prints per prototype behind a decision (the heat map is left out).</summary>
    public sealed record EvidenceLine(int Prototype, string Class, double Similarity, double Contribution, double Share, int[] Box, string? SourceItem, int[]? SourceBox);

    /// <summary>What `--json` prints for each input: the prediction without its embedding; the unknown flag and score when the model has a calibrated unknown scorer.</summary>
    public sealed record PredictionLine(string Input, string Class, double Probability, IReadOnlyList<ClassProbability> Top)
    {
        [System.Text.Json.Serialization.JsonIgnore(Condition = System.Text.Json.Serialization.JsonIgnoreCondition.WhenWritingNull)]
        public bool? Unknown { get; init; }

        [System.Text.Json.Serialization.JsonIgnore(Condition = System.Text.Json.Serialization.JsonIgnoreCondition.WhenWritingNull)]
        public double? UnknownScore { get; init; }

        [System.Text.Json.Serialization.JsonIgnore(Condition = System.Text.Json.Serialization.JsonIgnoreCondition.WhenWritingNull)]
        public IReadOnlyList<object>? Evidence { get; init; }
    }
    public sealed record PredictOutput(string Model, string Engine, IReadOnlyList<PredictionLine> Predictions);

    /// <summary>Images decoded and classified at once when predicting over folders.</summary>
    private const int FolderChunk = 512;

    public static Command Create(CliConsole console)
    {
        var command = new Command("predict", "Classify images (or CSV rows) with a saved model and list the most likely classes; a model calibrated with `protea calibrate-unknown` also says whether each input is unknown, with its score.")
        { Model, Files, Top, Engine, Threads, Json, Explain, Out };
        command.SetAction(p =>
        {
            var modelDir = p.GetValue(Model)!;
            var top = p.GetValue(Top);
            ClassProbabilities.CheckTop(top);
            var choice = InferenceEngines.ParseChoice(p.GetValue(Engine));
            HostSetup.SetTorchThreads(p.GetValue(Threads));
            var outDir = p.GetValue(Out);
            if (outDir is not null && !p.GetValue(Explain))
                throw new ProteaException("a folder for explanation panels was given without asking for explanations", "explain");
            if (Protea.Mil.MilModel.IsBagModel(modelDir))
                return BagPredict.Run(console, modelDir, p.GetValue(Files)!, top, choice, p.GetValue(Threads), p.GetValue(Json));
            var explain = p.GetValue(Explain);
            var parts = explain && ModelBundle.ReadDescription(modelDir).Head == PartsHead.Name;
            if (outDir is not null && !parts)
                throw new ProteaException("explanation panels are drawn for parts models only; this model explains with its nearest training items", "explain");
            using var predictor = Predictor.Open(modelDir, choice, p.GetValue(Threads), explain: parts ? Protea.Prototypes.PrototypeExplainer.DefaultTop : 0);
            if (predictor.PassedOverExport) HostSetup.NoteStaleExport(console, modelDir);
            // A folder stands for its images (sorted, recursively), classified a chunk at a time so memory stays flat.
            var files = p.GetValue(Files)!.SelectMany(f => Directory.Exists(f)
                ? Protea.Data.ImageFolderReader.FindImages(f).Select(h => h.Path)
                : [f]).ToList();
            if (files.Count == 0) throw new ProteaException("no images in the folders given", "files");
            var results = files.Chunk(FolderChunk).SelectMany(chunk => predictor.PredictFiles(chunk, top)).ToList();
            var explained = explain && !parts ? Search.NearestTrainingEvidence.Explain(modelDir, results) : results;
            if (outDir is not null) WritePanels(predictor, explained, files, outDir);
            var predictions = explained
                .Select(pr => new PredictionLine(pr.Input, pr.Class, pr.Probability, pr.Top)
                {
                    Unknown = pr.IsUnknown, UnknownScore = pr.UnknownScore,
                    Evidence = pr.Evidence?.Select(EvidenceItem).ToList(),
                }).ToList();
            if (p.GetValue(Json)) console.WriteJson(new PredictOutput(modelDir, predictor.EngineName, predictions));
            else foreach (var pr in predictions)
                console.Out.WriteLine($"{pr.Input}: {string.Join(", ", pr.Top.Select(t => $"{t.Class} {t.Probability:P1}"))}"
                    + (pr.Unknown is { } u ? $"; unknown: {(u ? "true" : "false")} (score {pr.UnknownScore:G4})" : "")
                    + string.Concat((pr.Evidence ?? []).OfType<EvidenceLine>().Select(e => $"{Environment.NewLine}  the part at ({e.Box[0]},{e.Box[1]})-({e.Box[2]},{e.Box[3]}) looks like prototype {e.Prototype} of {e.Class}"
                        + $": similarity {e.Similarity:F2}, contribution {e.Contribution:F2} ({e.Share:P0} of the logit)"
                        + (e.SourceItem is { } item ? $", from training item {item} at ({e.SourceBox![0]},{e.SourceBox[1]})-({e.SourceBox[2]},{e.SourceBox[3]})" : "")))
                    + ((pr.Evidence ?? []).OfType<Search.NearestItemEvidence>().ToList() is { Count: > 0 } n
                        ? "; nearest training items: " + string.Join(", ", n.Select(x => $"{x.Path ?? x.Id} ({x.Similarity:0.000})")) : ""));
            return 0;
        });
        return command;
    }

    /// <summary>What `--json` prints per piece of evidence: a prototype's line (its heat map and picture left out), or a nearest training item as it is.</summary>
    private static object EvidenceItem(Evidence e) => e switch
    {
        Protea.Prototypes.PrototypeEvidence p => new EvidenceLine(p.Prototype, p.ClassName, p.Similarity, p.Contribution, p.Share,
            [p.ActivatedBox.X0, p.ActivatedBox.Y0, p.ActivatedBox.X1, p.ActivatedBox.Y1], p.Source?.ItemId,
            p.Source is { } s ? [s.Box.X0, s.Box.Y0, s.Box.X1, s.Box.Y1] : null),
        _ => e,
    };

    /// <summary>PanelFile(i, path): the panel of input i in the --out folder.</summary>
    public static string PanelFile(int index, string input) => $"panel_{index + 1:D3}_{Path.GetFileNameWithoutExtension(input)}.png";

    private static void WritePanels(Predictor predictor, IReadOnlyList<Prediction> results, IReadOnlyList<string> files, string outDir)
    {
        var shape = predictor.Description.InputShape;
        var (c, h, w) = ((int)shape[0], (int)shape[1], (int)shape[2]);
        Directory.CreateDirectory(outDir);
        for (var i = 0; i < results.Count; i++)
        {
            var pixels = new byte[c * h * w];
            Protea.Data.ImageDecoder.DecodeInto(files[i], c, h, w, pixels);
            Protea.Prototypes.PrototypePanel.Write(results[i], pixels, c, Path.Combine(outDir, PanelFile(i, files[i])));
        }
    }
}

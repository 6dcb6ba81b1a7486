using System.CommandLine;
using Protea.Deploy;
using Protea.Predictions;

namespace Protea.Cli.Commands;

/// <summary>`protea predict`: top-k classes with probabilities for image files (or the rows of a CSV file).</summary>
public static class PredictCommand
{
    public const string Examples = """
        protea predict --model runs/quickstart shoe.png shirt.jpg
        protea predict --model runs/quickstart --top 5 --json images/*.png
        protea predict --model runs/iris flowers.csv --json
        """;

    private static readonly Option<string> Model = new("--model") { Description = "Model folder", Required = true };
    private static readonly Argument<string[]> Files = new("files") { Description = "PNG/JPEG images (image models) or CSV files of feature rows (tabular models)", Arity = ArgumentArity.OneOrMore };
    private static readonly Option<int> Top = new("--top") { Description = "How many classes to list per input", DefaultValueFactory = _ => Predictor.DefaultTop };
    private static readonly Option<string> Engine = new("--engine") { Description = "torch | onnx | auto", DefaultValueFactory = _ => "auto" };
    private static readonly Option<int> Threads = new("--threads") { Description = "CPU threads", DefaultValueFactory = _ => Environment.ProcessorCount };
    private static readonly Option<bool> Json = new("--json") { Description = "Print one JSON object" };
    private static readonly Option<bool> Explain = new("--explain") { Description = "Say why: parts models list the prototypes that drove each decision (similarity, contribution to the logit, its share, the most activated patch and the training patch the prototype came from); other models the nearest training items of the predicted class (trained with --keep-index)" };

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
        public IReadOnlyList<EvidenceLine>? Evidence { get; init; }

        [System.Text.Json.Serialization.JsonIgnore(Condition = System.Text.Json.Serialization.JsonIgnoreCondition.WhenWritingNull)]
        public IReadOnlyList<Search.NearestItemEvidence>? Nearest { get; init; }
    }
    public sealed record PredictOutput(string Model, string Engine, IReadOnlyList<PredictionLine> Predictions);

    public static Command Create(CliConsole console)
    {
        var command = new Command("predict", "Classify images (or CSV rows) with a saved model and list the most likely classes; a model calibrated with `protea calibrate-unknown` also says whether each input is unknown, with its score.")
        { Model, Files, Top, Engine, Threads, Explain, Json };
        command.SetAction(p =>
        {
            var modelDir = p.GetValue(Model)!;
            var top = p.GetValue(Top);
            ClassProbabilities.CheckTop(top);
            var choice = InferenceEngines.ParseChoice(p.GetValue(Engine));
            HostSetup.SetTorchThreads(p.GetValue(Threads));
            if (Protea.Mil.MilModel.IsBagModel(modelDir))
                return BagPredict.Run(console, modelDir, p.GetValue(Files)!, top, choice, p.GetValue(Threads), p.GetValue(Json));
            using var predictor = Predictor.Open(modelDir, choice, p.GetValue(Threads));
            if (predictor.PassedOverExport) HostSetup.NoteStaleExport(console, modelDir);
            var files = p.GetValue(Files)!;
            var parts = p.GetValue(Explain) && predictor.Description.Head == Models.PartsHead.Name;
            var explained = parts
                ? Protea.Prototypes.PrototypeExplainer.ExplainFiles(modelDir, files, onnx: predictor.EngineName == "onnx", threads: p.GetValue(Threads))
                : null;
            var predicted = predictor.PredictFiles(files, top);
            if (p.GetValue(Explain) && !parts) predicted = Search.NearestTrainingEvidence.Explain(modelDir, predicted);
            var predictions = predicted
                .Select((pr, i) => new PredictionLine(pr.Input, pr.Class, pr.Probability, pr.Top)
                {
                    Unknown = pr.IsUnknown, UnknownScore = pr.UnknownScore,
                    Evidence = explained?[i].Top.Select(e => new EvidenceLine(e.Prototype, e.ClassName, e.Similarity, e.Contribution, e.Share,
                        [e.ActivatedBox.X0, e.ActivatedBox.Y0, e.ActivatedBox.X1, e.ActivatedBox.Y1], e.Source?.ItemId,
                        e.Source is { } s ? [s.Box.X0, s.Box.Y0, s.Box.X1, s.Box.Y1] : null)).ToList(),
                    Nearest = pr.Evidence?.OfType<Search.NearestItemEvidence>().ToList(),
                }).ToList();
            if (p.GetValue(Json)) console.WriteJson(new PredictOutput(modelDir, predictor.EngineName, predictions));
            else foreach (var pr in predictions)
                console.Out.WriteLine($"{pr.Input}: {string.Join(", ", pr.Top.Select(t => $"{t.Class} {t.Probability:P1}"))}"
                    + (pr.Unknown is { } u ? $"; unknown: {(u ? "true" : "false")} (score {pr.UnknownScore:G4})" : "")
                    + string.Concat((pr.Evidence ?? []).Select(e => $"{Environment.NewLine}  the part at ({e.Box[0]},{e.Box[1]})-({e.Box[2]},{e.Box[3]}) looks like prototype {e.Prototype} of {e.Class}"
                        + $": similarity {e.Similarity:F2}, contribution {e.Contribution:F2} ({e.Share:P0} of the logit)"
                        + (e.SourceItem is { } item ? $", from training item {item} at ({e.SourceBox![0]},{e.SourceBox[1]})-({e.SourceBox[2]},{e.SourceBox[3]})" : "")))
                    + (pr.Nearest is { Count: > 0 } n ? "; nearest training items: " + string.Join(", ", n.Select(x => $"{x.Path ?? x.Id} ({x.Similarity:0.000})")) : ""));
            return 0;
        });
        return command;
    }
}

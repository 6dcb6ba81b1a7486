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
    private static readonly Argument<string[]> Files = new("files") { Description = "PNG/JPEG images or folders of them (image models), or CSV files of feature rows (tabular models)", Arity = ArgumentArity.OneOrMore };
    private static readonly Option<int> Top = new("--top") { Description = "How many classes to list per input", DefaultValueFactory = _ => Predictor.DefaultTop };
    private static readonly Option<string> Engine = new("--engine") { Description = "torch | onnx | auto", DefaultValueFactory = _ => "auto" };
    private static readonly Option<int> Threads = new("--threads") { Description = "CPU threads", DefaultValueFactory = _ => Environment.ProcessorCount };
    private static readonly Option<bool> Json = new("--json") { Description = "Print one JSON object" };

    /// <summary>What `--json` prints for each input: the prediction without its embedding; the unknown flag and score when the model has a calibrated unknown scorer.</summary>
    public sealed record PredictionLine(string Input, string Class, double Probability, IReadOnlyList<ClassProbability> Top)
    {
        [System.Text.Json.Serialization.JsonIgnore(Condition = System.Text.Json.Serialization.JsonIgnoreCondition.WhenWritingNull)]
        public bool? Unknown { get; init; }

        [System.Text.Json.Serialization.JsonIgnore(Condition = System.Text.Json.Serialization.JsonIgnoreCondition.WhenWritingNull)]
        public double? UnknownScore { get; init; }
    }
    public sealed record PredictOutput(string Model, string Engine, IReadOnlyList<PredictionLine> Predictions);

    /// <summary>Images decoded and classified at once when predicting over folders.</summary>
    private const int FolderChunk = 512;

    public static Command Create(CliConsole console)
    {
        var command = new Command("predict", "Classify images (or CSV rows) with a saved model and list the most likely classes; a model calibrated with `protea calibrate-unknown` also says whether each input is unknown, with its score.")
        { Model, Files, Top, Engine, Threads, Json };
        command.SetAction(p =>
        {
            var modelDir = p.GetValue(Model)!;
            var top = p.GetValue(Top);
            ClassProbabilities.CheckTop(top);
            var choice = InferenceEngines.ParseChoice(p.GetValue(Engine));
            HostSetup.SetTorchThreads(p.GetValue(Threads));
            using var predictor = Predictor.Open(modelDir, choice, p.GetValue(Threads));
            if (predictor.PassedOverExport) HostSetup.NoteStaleExport(console, modelDir);
            // A folder stands for its images (sorted, recursively), classified a chunk at a time so memory stays flat.
            var inputs = p.GetValue(Files)!.SelectMany(f => Directory.Exists(f)
                ? Protea.Data.ImageFolderReader.FindImages(f).Select(h => h.Path)
                : [f]).ToList();
            if (inputs.Count == 0) throw new ProteaException("no images in the folders given", "files");
            var predictions = inputs.Chunk(FolderChunk).SelectMany(chunk => predictor.PredictFiles(chunk, top))
                .Select(pr => new PredictionLine(pr.Input, pr.Class, pr.Probability, pr.Top) { Unknown = pr.IsUnknown, UnknownScore = pr.UnknownScore }).ToList();
            if (p.GetValue(Json)) console.WriteJson(new PredictOutput(modelDir, predictor.EngineName, predictions));
            else foreach (var pr in predictions)
                console.Out.WriteLine($"{pr.Input}: {string.Join(", ", pr.Top.Select(t => $"{t.Class} {t.Probability:P1}"))}"
                    + (pr.Unknown is { } u ? $"; unknown: {(u ? "true" : "false")} (score {pr.UnknownScore:G4})" : ""));
            return 0;
        });
        return command;
    }
}

using System.CommandLine;
using Protea.Data;
using Protea.Deploy;
using Protea.Discovery;

namespace Protea.Cli.Commands;

/// <summary>`protea unknown`: every unknown scorer's AUROC, AUPR-in, AUPR-out and FPR at 95 % TPR, known against unknown data.</summary>
public static class UnknownCommand
{
    public const string Examples = """
        protea unknown --model runs/fm04 --known fashion-mnist --known-classes 0-4 --unknown fashion-mnist --unknown-classes 5-9 --json
        protea unknown --model runs/photos --known photos/ --unknown other-photos/ --out runs/photos/unknown
        """;

    private static readonly Option<string> Model = new("--model") { Description = "Model folder", Required = true };
    private static readonly Option<string> Known = new("--known") { Description = "Data of the model's classes (scorers are fitted on its training part, scored on its test split or 20 % held out)", Required = true };
    private static readonly Option<string?> KnownClasses = new("--known-classes") { Description = "Only these classes of --known (0-4,7 or names)" };
    private static readonly Option<string> Unknown = new("--unknown") { Description = "Data of classes the model does not know (its test split, else all of it; labels are not used)", Required = true };
    private static readonly Option<string?> UnknownClasses = new("--unknown-classes") { Description = "Only these classes of --unknown" };
    private static readonly Option<string?> Label = new("--label") { Description = "CSV label column (both data sets)" };
    private static readonly Option<string?> Out = new("--out") { Description = "Folder for unknown-scores.png (score histograms) and unknown.json" };
    private static readonly Option<double> Temperature = new("--temperature") { Description = "Energy temperature", DefaultValueFactory = _ => 1.0 };
    private static readonly Option<int> K = new("--k") { Description = "knn: the neighbour whose distance is the score", DefaultValueFactory = _ => 50 };
    private static readonly Option<double?> Shrinkage = new("--shrinkage") { Description = "mahalanobis: covariance shrinkage towards a scaled identity, 0-1 (default: the Ledoit-Wolf estimate)" };
    private static readonly Option<string> Engine = new("--engine") { Description = "torch | onnx | auto", DefaultValueFactory = _ => "auto" };
    private static readonly Option<int> Threads = new("--threads") { Description = "CPU threads", DefaultValueFactory = _ => Environment.ProcessorCount };
    private static readonly Option<bool> Json = new("--json") { Description = "Print one JSON object with every scorer's metrics" };

    public sealed record ScorerLine(string Scorer, double Auroc, double AuprIn, double AuprOut, double FprAt95Tpr);
    public sealed record UnknownOutput(string Model, string Engine, string Known, string Unknown, int FitExamples, int KnownExamples, int UnknownExamples,
        IReadOnlyList<ScorerLine> Scorers, string? Plot);

    public static Command Create(CliConsole console)
    {
        var command = new Command("unknown", "Compare the unknown-input scorers (msp, max-logit, energy, mahalanobis, knn, prototype) on known against unknown data: AUROC, AUPR-in, AUPR-out, FPR at 95 % TPR, and score histograms.")
        { Model, Known, KnownClasses, Unknown, UnknownClasses, Label, Out, Temperature, K, Shrinkage, Engine, Threads, Json };
        var loading = new DataLoadFlags();
        loading.AddTo(command);
        command.SetAction(p =>
        {
            var choice = InferenceEngines.ParseChoice(p.GetValue(Engine));
            var modelDir = p.GetValue(Model)!;
            HostSetup.SetTorchThreads(p.GetValue(Threads));
            var known = UnknownBenchmark.Renamed("known", () => loading.Apply(p, DataSpec.Parse(p.GetValue(Known)!, new DataSpecOptions { LabelColumn = p.GetValue(Label), Classes = p.GetValue(KnownClasses) }), console, p.GetValue(Json)));
            var unknown = UnknownBenchmark.Renamed("unknown", () => loading.Apply(p, DataSpec.Parse(p.GetValue(Unknown)!, new DataSpecOptions { LabelColumn = p.GetValue(Label), Classes = p.GetValue(UnknownClasses) }), console, p.GetValue(Json)));
            var result = UnknownBenchmark.Run(modelDir, known, unknown, new UnknownScorerOptions { Temperature = p.GetValue(Temperature), K = p.GetValue(K), Shrinkage = p.GetValue(Shrinkage) }, choice, p.GetValue(Threads));
            var lines = result.Scorers.Select(s => new ScorerLine(s.Scorer, s.Metrics.Auroc, s.Metrics.AuprIn, s.Metrics.AuprOut, s.Metrics.FprAt95Tpr)).ToList();
            string? plot = null;
            var output = new UnknownOutput(modelDir, result.Engine, result.Known, result.Unknown, result.FitExamples, result.KnownExamples, result.UnknownExamples, lines, plot);
            if (p.GetValue(Out) is { } outDir)
            {
                plot = Path.Combine(outDir, "unknown-scores.png");
                UnknownScoreHistogram.Save(plot, result.Scorers);
                output = output with { Plot = plot };
                IO.AtomicFile.WriteAllText(Path.Combine(outDir, "unknown.json"), System.Text.Json.JsonSerializer.Serialize(output, IO.ProteaJson.Options));
            }
            if (p.GetValue(Json)) console.WriteJson(output);
            else
            {
                console.Out.WriteLine($"{modelDir}: {result.KnownExamples} known ({result.Known}) against {result.UnknownExamples} unknown ({result.Unknown}), {result.Engine} engine");
                console.Out.WriteLine($"{"scorer",-12} {"AUROC",7} {"AUPR-in",8} {"AUPR-out",9} {"FPR@95",7}");
                foreach (var l in lines)
                    console.Out.WriteLine($"{l.Scorer,-12} {l.Auroc,7:F4} {l.AuprIn,8:F4} {l.AuprOut,9:F4} {l.FprAt95Tpr,7:F4}");
                if (plot is not null) console.Out.WriteLine($"histograms: {plot}");
            }
            return 0;
        });
        return command;
    }
}

using System.CommandLine;
using Protea.Data;
using Protea.Deploy;
using Protea.Models;
using static TorchSharp.torch;

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
    private static readonly Option<int> Top = new("--top") { Description = "How many classes to list per input", DefaultValueFactory = _ => 3 };
    private static readonly Option<string> Engine = new("--engine") { Description = "torch | onnx | auto", DefaultValueFactory = _ => "auto" };
    private static readonly Option<int> Threads = new("--threads") { Description = "CPU threads", DefaultValueFactory = _ => Environment.ProcessorCount };
    private static readonly Option<bool> Json = new("--json") { Description = "Print one JSON object" };

    public sealed record ClassProbability(string Class, double Probability);
    public sealed record Prediction(string Input, string Class, double Probability, IReadOnlyList<ClassProbability> Top);
    public sealed record PredictOutput(string Model, string Engine, IReadOnlyList<Prediction> Predictions);

    public static Command Create(CliConsole console)
    {
        var command = new Command("predict", "Classify images (or CSV rows) with a saved model and list the most likely classes.")
        { Model, Files, Top, Engine, Threads, Json };
        command.SetAction(p =>
        {
            var modelDir = p.GetValue(Model)!;
            var top = p.GetValue(Top);
            if (top < 1) throw new ProteaException("--top must be at least 1");
            var description = ModelBundle.ReadDescription(modelDir);
            var (inputs, names) = ReadInputs(p.GetValue(Files)!, description);
            using (inputs)
            {
                using var engine = EngineOpener.Open(console, modelDir, p.GetValue(Engine), p.GetValue(Threads));
                var output = InferenceEngines.RunAll(engine, inputs);
                var predictions = names.Select((name, i) => Describe(name, output.LogitsOf(i), description.ClassNames, top)).ToList();
                var result = new PredictOutput(modelDir, engine.Name, predictions);
                if (p.GetValue(Json)) console.WriteJson(result);
                else foreach (var pr in predictions)
                    console.Out.WriteLine($"{pr.Input}: {string.Join(", ", pr.Top.Select(t => $"{t.Class} {t.Probability:P1}"))}");
            }
            return 0;
        });
        return command;
    }

    private static (Tensor Inputs, IReadOnlyList<string> Names) ReadInputs(string[] files, ModelDescription d)
    {
        foreach (var f in files)
            if (!File.Exists(f)) throw new ProteaException($"{f}: file not found");
        if (d.InputKind == InputKind.Image)
        {
            long c = d.InputShape[0], h = d.InputShape[1], w = d.InputShape[2];
            return (ImageDecoder.DecodeMany(files, (int)c, (int)h, (int)w), files);
        }
        return TabularInputs.Read(files, d);
    }

    private static Prediction Describe(string input, ReadOnlySpan<float> logits, IReadOnlyList<string> classes, int top)
    {
        // Softmax in double precision with the max subtracted, so large logits stay finite.
        var max = double.NegativeInfinity;
        foreach (var v in logits) max = Math.Max(max, v);
        var p = new double[logits.Length];
        double sum = 0;
        for (var i = 0; i < p.Length; i++) sum += p[i] = Math.Exp(logits[i] - max);
        var ranked = Enumerable.Range(0, p.Length).OrderByDescending(i => p[i]).ThenBy(i => i).Take(top)
            .Select(i => new ClassProbability(classes[i], p[i] / sum)).ToList();
        return new Prediction(input, ranked[0].Class, ranked[0].Probability, ranked);
    }
}

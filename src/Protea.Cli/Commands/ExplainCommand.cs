using System.CommandLine;
using Protea.Data;
using Protea.Explanations;
using Protea.Models;
using Protea.Predictions;

namespace Protea.Cli.Commands;

/// <summary>
/// `protea explain`: attribution maps for image files (PNG overlays, arrays in --json), or with --data the
/// faithfulness table of every method (--evaluate: deletion/insertion AUC) and the model-randomisation
/// sanity check (--sanity).
/// </summary>
public static class ExplainCommand
{
    public const string Examples = """
        protea explain --model runs/quickstart shoe.png --method gradcam --out explained/
        protea explain --model runs/quickstart shoe.png --method ig --ig-steps 64 --baseline blur --class Sneaker --json
        protea explain --model runs/quickstart --evaluate --data fashion-mnist --count 500 --out explained/ --json
        protea explain --model runs/quickstart --sanity --data fashion-mnist --count 32 --methods gradcam,gradient,ig
        """;

    private static readonly Option<string> Model = new("--model") { Description = "Model folder (an image model)", Required = true };
    private static readonly Argument<string[]> Files = new("files") { Description = "Images to explain, at the model's size and channel count", Arity = ArgumentArity.ZeroOrMore };
    private static readonly Option<string> Method = new("--method") { Description = $"Explanation method: {string.Join(" | ", Explainers.Catalog.Names)} (image models); attention (bag models)", DefaultValueFactory = _ => Explainers.Default };
    private static readonly Option<string?> Class = new("--class") { Description = "Explain this class (name or index) instead of the predicted one" };
    private static readonly Option<string?> Out = new("--out") { Description = "Folder for one PNG overlay per input, or the faithfulness curves (faithfulness.png) with --evaluate" };
    private static readonly Option<bool> Json = new("--json") { Description = "Print one JSON object (the maps as arrays of rows; with --evaluate/--sanity the tables)" };
    private static readonly Option<string?> Layer = new("--layer") { Description = "Grad-CAM(++) layer: 'features' (the last feature map, default) or a convolution's name, e.g. backbone.block3.conv" };
    private static readonly Option<int> IgSteps = new("--ig-steps") { Description = "Integrated Gradients: steps from the baseline", DefaultValueFactory = _ => 32 };
    private static readonly Option<string> Baseline = new("--baseline") { Description = "Integrated Gradients baseline: black | mean | blur", DefaultValueFactory = _ => "black" };
    private static readonly Option<int> Samples = new("--samples") { Description = "SmoothGrad: noisy copies per image", DefaultValueFactory = _ => 25 };
    private static readonly Option<double> Sigma = new("--sigma") { Description = "SmoothGrad: noise standard deviation (pixels span 0..1)", DefaultValueFactory = _ => 0.15 };
    private static readonly Option<bool> Evaluate = new("--evaluate") { Description = "Deletion/insertion AUC of every method (or --methods) on --data's test split" };
    private static readonly Option<bool> Sanity = new("--sanity") { Description = "Cascading model-randomisation check of every method (or --methods) on --data's test split" };
    private static readonly Option<string?> Data = new("--data") { Description = "Data set for --evaluate / --sanity (its test split, else all of it)" };
    private static readonly Option<string?> Methods = new("--methods") { Description = "Comma-separated methods for --evaluate / --sanity (default: all that apply to the model, with random as a reference)" };
    private static readonly Option<int?> Count = new("--count") { Description = "Images for --evaluate (default 500) / --sanity (default 32), a seeded sample" };
    private static readonly Option<int> Steps = new("--steps") { Description = "Deletion/insertion: points on each curve after the start", DefaultValueFactory = _ => 20 };
    private static readonly Option<string> DeletionBaseline = new("--deletion-baseline") { Description = "What deleted pixels become: mean | blur | black", DefaultValueFactory = _ => "mean" };
    private static readonly Option<string> InsertionBaseline = new("--insertion-baseline") { Description = "What insertion starts from: blur | mean | black", DefaultValueFactory = _ => "blur" };
    private static readonly Option<int> Seed = new("--seed") { Description = "Seeds the sample of images, SmoothGrad's noise and the randomisation", DefaultValueFactory = _ => 0 };
    private static readonly Option<int> BatchSize = new("--batch-size") { Description = "Images per batch", DefaultValueFactory = _ => 100 };
    private static readonly Option<int> Threads = new("--threads") { Description = "CPU threads", DefaultValueFactory = _ => Environment.ProcessorCount };

    /// <summary>What `--json` prints for files: one entry per input, the map as rows of floats.</summary>
    public sealed record ExplanationLine(string Input, string Method, int Class, string ClassName, double Probability, bool ClassGiven,
        string? Overlay, IReadOnlyList<float[]> Map);
    public sealed record ExplainOutput(string Model, IReadOnlyList<ExplanationLine> Explanations);
    public sealed record EvaluateOutput(string Model, FaithfulnessReport? Faithfulness, string? Plot, SanityReport? Sanity);

    public static Command Create(CliConsole console)
    {
        var command = new Command("explain", "Show which input pixels drove an image model's decision (Grad-CAM, Grad-CAM++, gradients, SmoothGrad, Integrated Gradients), and measure how faithful each method is.")
        {
            Model, Files, Method, Class, Out, Json, Layer, IgSteps, Baseline, Samples, Sigma,
            Evaluate, Sanity, Data, Methods, Count, Steps, DeletionBaseline, InsertionBaseline, Seed, BatchSize, Threads,
        };
        command.SetAction(p =>
        {
            var modelDir = p.GetValue(Model)!;
            var files = p.GetValue(Files) ?? [];
            var options = new ExplainerOptions
            {
                Layer = p.GetValue(Layer),
                Steps = p.GetValue(IgSteps),
                Baseline = ImageBaselines.Parse(p.GetValue(Baseline)!, "baseline"),
                Samples = p.GetValue(Samples),
                Sigma = p.GetValue(Sigma),
                Seed = p.GetValue(Seed),
            };
            var batchSize = p.GetValue(BatchSize);
            if (batchSize < 1) throw new ProteaException($"batch size {batchSize} must be at least 1", "batch_size");
            var evaluate = p.GetValue(Evaluate);
            var sanity = p.GetValue(Sanity);
            if (evaluate || sanity)
            {
                if (files.Length > 0) throw new ProteaException("give images to explain or a data set to evaluate on, not both", "data");
                return RunEvaluation(console, p, modelDir, options, evaluate, sanity, batchSize);
            }
            if (files.Length == 0) throw new ProteaException("no images to explain: give image files, or evaluate the methods on a data set", "files");
            if (Protea.Mil.MilModel.IsBagModel(modelDir))
                return ExplainBags(console, modelDir, files, p.GetValue(Method)!, p.GetValue(Out), p.GetValue(Json), p.GetValue(Threads));
            if (p.GetValue(Method) == AttentionMethod)
                throw new ProteaException($"the attention method explains bag models (trained with train-bags); {modelDir} is not one", "method");
            var method = Explainers.Create(p.GetValue(Method)!, options);
            HostSetup.SetTorchThreads(p.GetValue(Threads));
            using var bundle = ModelBundle.Load(modelDir);
            var model = new ExplainedModel(bundle);
            if (options.Layer is { } layer && !model.Layers.Contains(layer))
                throw new ProteaException($"layer '{layer}' is not a convolution of this {bundle.Description.Architecture}; known: {string.Join(", ", model.Layers)}", "layer");
            var target = SaliencyExplainer.ResolveClass(bundle.Description, p.GetValue(Class));
            using var raw = SaliencyExplainer.ReadImages(bundle.Description, files);
            var explanations = new SaliencyExplainer(model, method) { BatchSize = batchSize }.ExplainRaw(raw, files, target);
            var overlays = new string?[files.Length];
            if (p.GetValue(Out) is { } outDir)
            {
                Directory.CreateDirectory(outDir);
                var (c, h, w) = (raw.shape[1], raw.shape[2], raw.shape[3]);
                var bytes = raw.data<byte>().ToArray();
                for (var i = 0; i < files.Length; i++)
                {
                    overlays[i] = Path.Combine(outDir, $"{i + 1:000}-{Path.GetFileNameWithoutExtension(files[i])}-{method.Name}.png");
                    SaliencyOverlay.Save(overlays[i]!, bytes.AsSpan((int)(i * c * h * w), (int)(c * h * w)).ToArray(), (int)c, explanations[i]);
                }
            }
            if (p.GetValue(Json))
                console.WriteJson(new ExplainOutput(modelDir, explanations.Select((e, i) => new ExplanationLine(e.Input, e.Method, e.Class, e.ClassName,
                    e.Probability, e.ClassGiven, overlays[i], Enumerable.Range(0, e.Height).Select(r => e.Map.AsSpan(r * e.Width, e.Width).ToArray()).ToList())).ToList()));
            else
                for (var i = 0; i < explanations.Count; i++)
                {
                    var e = explanations[i];
                    console.Out.WriteLine($"{e.Input}: {e.Method} for {e.ClassName} (p = {e.Probability:0.000}{(e.ClassGiven ? "" : ", predicted")}), map {e.Height}x{e.Width}, max {e.Map.Max():G4}{(overlays[i] is { } o ? $" -> {o}" : "")}");
                }
            return 0;
        });
        return command;
    }

    /// <summary>The one method of a bag model: its attention over the image's patches.</summary>
    public const string AttentionMethod = "attention";

    /// <summary>What `--json` prints per image of a bag model: the bag's class and the top patches; the map as rows.</summary>
    public sealed record BagExplanationLine(string Input, string Class, double Probability, IReadOnlyList<Protea.Mil.PatchEvidence> TopPatches, string? Overlay, IReadOnlyList<float[]> Map);

    private static int ExplainBags(CliConsole console, string modelDir, string[] files, string method, string? outDir, bool json, int threads)
    {
        if (method != AttentionMethod && method != Explainers.Default)
            throw new ProteaException($"a bag model is explained by its attention over patches; method '{method}' does not apply (use {AttentionMethod})", "method");
        HostSetup.SetTorchThreads(threads);
        using var predictor = Protea.Mil.BagPredictor.Open(modelDir, threads: threads);
        var explained = Protea.Mil.AttentionMap.Explain(predictor, files);
        var lines = new List<BagExplanationLine>();
        if (outDir is not null) Directory.CreateDirectory(outDir);
        for (var i = 0; i < files.Length; i++)
        {
            var (prediction, map) = explained[i];
            string? overlay = null;
            if (outDir is not null)
            {
                overlay = Path.Combine(outDir, $"{i + 1:000}-{Path.GetFileNameWithoutExtension(files[i])}-{AttentionMethod}.png");
                Protea.Mil.AttentionMap.Save(files[i], prediction, overlay);
            }
            lines.Add(new BagExplanationLine(files[i], prediction.Prediction.Class, prediction.Prediction.Probability, prediction.TopPatches, overlay,
                Enumerable.Range(0, prediction.Height).Select(r => map.AsSpan(r * prediction.Width, prediction.Width).ToArray()).ToList()));
        }
        if (json) console.WriteJson(new { Model = modelDir, Explanations = lines });
        else
            foreach (var l in lines)
                console.Out.WriteLine($"{l.Input}: attention for {l.Class} (p = {l.Probability:0.000}); top patches "
                    + string.Join(", ", l.TopPatches.Select(t => $"({t.Box.X},{t.Box.Y} {t.Box.Width}x{t.Box.Height}) {t.Weight:0.000}"))
                    + (l.Overlay is { } o ? $" -> {o}" : ""));
        return 0;
    }

    private static int RunEvaluation(CliConsole console, ParseResult p, string modelDir, ExplainerOptions options, bool evaluate, bool sanity, int batchSize)
    {
        var data = p.GetValue(Data) ?? throw new ProteaException("evaluating the methods needs a data set of images", "data");
        var names = (p.GetValue(Methods) ?? string.Join(",", Explainers.For(ModelBundle.ReadDescription(modelDir)))).Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries);
        if (names.Length == 0) throw new ProteaException("no methods to evaluate", "methods");
        var methods = names.Select(n => Explainers.Create(n, options)).ToList();
        var metric = new DeletionInsertion(p.GetValue(Steps), ImageBaselines.Parse(p.GetValue(DeletionBaseline)!, "deletion_baseline"),
            ImageBaselines.Parse(p.GetValue(InsertionBaseline)!, "insertion_baseline"));
        metric.Check();
        var count = p.GetValue(Count);
        if (count is < 1) throw new ProteaException($"{count} images is not a positive count", "count");
        HostSetup.SetTorchThreads(p.GetValue(Threads));
        using var bundle = ModelBundle.Load(modelDir);
        var model = new ExplainedModel(bundle);
        if (options.Layer is { } layer && !model.Layers.Contains(layer))
            throw new ProteaException($"layer '{layer}' is not a convolution of this {bundle.Description.Architecture}; known: {string.Join(", ", model.Layers)}", "layer");
        var spec = ModelInputs.ForModel(DataSpec.Parse(data), bundle.Description);
        var (loaded, isTest) = spec.LoadEvaluationSet();
        using var all = loaded;
        ModelInputs.CheckCompatible(all, bundle.Description, spec);
        var progress = console.Interactive && !p.GetValue(Json) ? new Progress<string>(line => console.Error.Write($"\r{line,-70}")) : null;
        var seed = p.GetValue(Seed);

        FaithfulnessReport? faithfulness = null;
        string? plot = null;
        if (evaluate)
        {
            using var sample = all.Sample(Math.Min(count ?? 500, all.Count), seed);
            faithfulness = FaithfulnessEvaluation.Run(model, sample.Inputs, spec.ToString(), isTest ? "test" : "all", methods, metric, batchSize, progress);
            var outDir = p.GetValue(Out) ?? "explain-evaluation";
            Directory.CreateDirectory(outDir);
            plot = Path.Combine(outDir, "faithfulness.png");
            FaithfulnessPlot.Save(plot, faithfulness);
        }
        SanityReport? sanityReport = null;
        if (sanity)
        {
            using var sample = all.Sample(Math.Min(count ?? 32, all.Count), seed);
            sanityReport = SanityCheck.Run(() => new ExplainedModel(ModelBundle.Load(modelDir)), sample.Inputs, methods, seed, progress);
        }
        if (progress is not null) console.Error.WriteLine();
        if (p.GetValue(Json))
        {
            console.WriteJson(new EvaluateOutput(modelDir, faithfulness, plot, sanityReport));
            return 0;
        }
        if (faithfulness is { } f)
        {
            console.Out.WriteLine($"{f.Images} images of {f.Data} ({f.Split}), predicted class, {f.Steps} steps; deletion to {f.DeletionBaseline}, insertion from {f.InsertionBaseline}");
            console.Out.WriteLine($"{"method",-12} {"deletion AUC",13} {"insertion AUC",14} {"seconds",8}");
            foreach (var r in f.Methods)
                console.Out.WriteLine($"{r.Method,-12} {r.DeletionAuc,13:0.0000} {r.InsertionAuc,14:0.0000} {r.Seconds,8:0.00}");
            console.Out.WriteLine("(deletion: lower is better; insertion: higher is better)");
            console.Out.WriteLine($"curves: {plot}");
        }
        if (sanityReport is { } s)
        {
            console.Out.WriteLine($"model randomisation, {s.Images} images, mean Spearman with the trained model's maps as layers are randomised from the top:");
            foreach (var m in s.Methods)
                console.Out.WriteLine($"{m.Method,-12} {string.Join(" ", m.Spearman.Select(v => v.ToString("0.00").PadLeft(5)))}{(m.Flagged ? $"  FLAGGED: maps still correlate > {s.Threshold} with every layer randomised" : "")}");
        }
        return 0;
    }
}

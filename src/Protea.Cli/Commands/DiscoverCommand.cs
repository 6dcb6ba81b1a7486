using System.CommandLine;
using System.Globalization;
using Protea.Data;
using Protea.Deploy;
using Protea.Discovery;
using Protea.Models;
using Protea.Training;

namespace Protea.Cli.Commands;

/// <summary>`protea discover`: generalized category discovery: cluster labelled and unlabelled items into known and new classes.</summary>
public static class DiscoverCommand
{
    public const string Examples = """
        protea discover --data fashion-mnist --known-classes 0-4 --labelled-fraction 0.5 --arch cnn --k auto --out runs/gcd --json
        protea discover --data photos/ --model runs/photos --k 12 --out runs/photos-discover
        protea discover --data cells.csv --label type --arch mlp --truth cells-truth.csv --out runs/cells-discover
        """;

    private static readonly Option<string> Data = new("--data") { Description = "Labelled and unlabelled items: fashion-mnist, a folder of class sub-folders plus unlabelled/, or a .csv file (empty label = unlabelled); its training part is used", Required = true };
    private static readonly Option<string?> Model = new("--model") { Description = "Embed with this saved model (else a model is trained on the labelled items into OUT/model)" };
    private static readonly Option<string?> Arch = new("--arch") { Description = $"Backbone of the model trained when there is no --model: {string.Join(" | ", Architectures.BackboneNames)} (default: cnn for images, mlp for CSV)" };
    private static readonly Option<string> Head = new("--head") { Description = $"Head of that model: {string.Join(" | ", Architectures.HeadNames)}; ncm or cosine lets `protea adopt` turn a discovered cluster into a class of it", DefaultValueFactory = _ => "linear" };
    private static readonly Option<string> Objective = new("--objective") { Description = "Training objective of that model (SimCLR on all items, SupCon and cross-entropy on the labelled ones)", DefaultValueFactory = _ => DiscoveryOptions.DefaultObjective };
    private static readonly Option<int> Epochs = new("--epochs") { Description = "Epochs of that model", DefaultValueFactory = _ => 4 };
    private static readonly Option<double?> Lr = new("--lr") { Description = "Peak learning rate of that model (default 0.1 for images, 0.01 for CSV)" };
    private static readonly Option<string> K = new("--k") { Description = "Number of clusters: N, or auto (estimated between --k-min and --k-max)", DefaultValueFactory = _ => "auto" };
    private static readonly Option<int?> KMin = new("--k-min") { Description = "Smallest k tried by --k auto (default: the number of known classes)" };
    private static readonly Option<int?> KMax = new("--k-max") { Description = "Largest k tried by --k auto (default: max(2 × known, known + 10))" };
    private static readonly Option<string> KCriterion = new("--k-criterion") { Description = "How --k auto scores a k: labelled (clustering accuracy on the labelled items, as the GCD paper) | silhouette", DefaultValueFactory = _ => KEstimator.Labelled };
    private static readonly Option<double> KTolerance = new("--k-tolerance") { Description = $"With --k-criterion labelled: a k whose labelled accuracy and silhouette are within this of the best ties with it, and the largest tie wins (labelled accuracy cannot see unlabelled groups merged or split); 0 = the GCD paper's argmax", DefaultValueFactory = _ => KEstimator.DefaultTolerance };
    private static readonly Option<string?> KnownClasses = new("--known-classes") { Description = "The known classes (0-4 or names); items of the others count as unlabelled, their labels kept as ground truth" };
    private static readonly Option<string?> Hide = new("--hide-labels-of") { Description = "Classes whose labels are hidden (treated as new; their labels are the ground truth), for benchmarks" };
    private static readonly Option<double> Fraction = new("--labelled-fraction") { Description = "Seeded share of the known classes' items that keep their label (the GCD protocol: 0.5)", DefaultValueFactory = _ => 1.0 };
    private static readonly Option<string?> Truth = new("--truth") { Description = "CSV id,label: true classes of unlabelled items, for the metrics" };
    private static readonly Option<string?> Label = new("--label") { Description = "CSV label column" };
    private static readonly Option<string?> Id = new("--id") { Description = "CSV id column (default: a column named id, if any)" };
    private static readonly Option<string?> Categorical = new("--categorical") { Description = "CSV text columns to one-hot encode: COL,COL or auto (every column holding text); categories are saved with the model" };
    private static readonly Option<int?> PoolGrid = new("--pool-grid") { Description = $"Cluster the backbone's last feature map average-pooled over a G×G grid (C·G² values per item; keeps where patterns sit) instead of the model's embedding (G = 1); default {GridEmbeddings.DefaultGrid} for image backbones on the torch engine, 1 for tables and --engine onnx" };
    private static readonly Option<int> Restarts = new("--restarts") { Description = "k-means restarts (the lowest inertia kept)", DefaultValueFactory = _ => 5 };
    private static readonly Option<int> Iterations = new("--iterations") { Description = "k-means iterations at most", DefaultValueFactory = _ => 100 };
    private static readonly Option<int?> Limit = new("--limit") { Description = "Use a seeded random subset of N items" };
    private static readonly Option<string> Out = new("--out") { Description = "Output folder: assignments.csv, clusters.json, clusters.png (images) or cluster-means.csv (CSV)", Required = true };
    private static readonly Option<string> Engine = new("--engine") { Description = "torch | onnx | auto (with --model)", DefaultValueFactory = _ => "auto" };
    private static readonly Option<int> Seed = new("--seed") { Description = "Random seed", DefaultValueFactory = _ => 0 };
    private static readonly Option<int> Threads = new("--threads") { Description = "CPU threads", DefaultValueFactory = _ => Environment.ProcessorCount };
    private static readonly Option<bool> Json = new("--json") { Description = "Print one JSON object: k, its estimate curve, clusters, metrics, seconds per phase" };

    public static Command Create(CliConsole console)
    {
        var command = new Command("discover", "Generalized category discovery: cluster labelled items of known classes and unlabelled items (of known and new classes) with semi-supervised k-means on a model's embeddings; estimate the number of classes; write assignments.csv and clusters.json.")
        { Data, Model, Arch, Head, Objective, Epochs, Lr, K, KMin, KMax, KCriterion, KTolerance, KnownClasses, Hide, Fraction, Truth, Label, Id, Categorical, PoolGrid, Restarts, Iterations, Limit, Out, Engine, Seed, Threads, Json };
        var loading = new DataLoadFlags();
        loading.AddTo(command);
        command.SetAction(p =>
        {
            var kText = p.GetValue(K)!;
            int? k = kText.Equals("auto", StringComparison.OrdinalIgnoreCase) ? null
                : int.TryParse(kText, NumberStyles.None, CultureInfo.InvariantCulture, out var n) ? n
                : throw new ProteaException($"k '{kText}': must be a whole number or auto", "k");
            var threads = p.GetValue(Threads);
            HostSetup.SetTorchThreads(threads);
            var spec = loading.Apply(p, DataSpec.Parse(p.GetValue(Data)!, new DataSpecOptions { LabelColumn = p.GetValue(Label), IdColumn = p.GetValue(Id), Categorical = p.GetValue(Categorical) }),
                console, p.GetValue(Json));
            var isTabular = spec.Kind == DataSourceKind.Csv;
            var arch = p.GetValue(Arch) ?? Architectures.DefaultFor(isTabular ? InputKind.Tabular : InputKind.Image).Name;
            var options = new DiscoveryOptions
            {
                Model = p.GetValue(Model),
                Train = new TrainOptions
                {
                    Architecture = arch,
                    Head = p.GetValue(Head)!,
                    Objective = p.GetValue(Objective)!,
                    Epochs = p.GetValue(Epochs),
                    LearningRate = p.GetValue(Lr) ?? (isTabular ? 0.01 : 0.1),
                },
                K = k,
                KMin = p.GetValue(KMin),
                KMax = p.GetValue(KMax),
                KCriterion = p.GetValue(KCriterion)!,
                KTolerance = p.GetValue(KTolerance),
                KnownClasses = p.GetValue(KnownClasses),
                HideLabelsOf = p.GetValue(Hide),
                LabelledFraction = p.GetValue(Fraction),
                TruthFile = p.GetValue(Truth),
                PoolGrid = p.GetValue(PoolGrid),
                Restarts = p.GetValue(Restarts),
                MaxIterations = p.GetValue(Iterations),
                Limit = p.GetValue(Limit),
                Seed = p.GetValue(Seed),
                Threads = threads,
                Engine = InferenceEngines.ParseChoice(p.GetValue(Engine)),
            };
            var json = p.GetValue(Json);
            var progress = json || Console.IsErrorRedirected ? null : new Progress<string>(phase => console.Error.WriteLine($"discover: {phase} done"));
            var result = CategoryDiscovery.Run(spec, options, p.GetValue(Out)!, progress);
            if (json) console.WriteJson(result);
            else
            {
                console.Out.WriteLine($"{result.Data}: {result.LabelledItems} labelled and {result.UnlabelledItems} unlabelled items, {result.KnownClasses.Count} known classes, k = {result.K}" +
                    (result.KEstimate is { } e ? $" (estimated by {e.Criterion} over {e.Curve[0].K}-{e.Curve[^1].K})" : ""));
                foreach (var c in result.Clusters)
                    console.Out.WriteLine($"  cluster {c.Id,3}: {c.Size,7} unlabelled  {c.Matches}");
                if (result.Metrics is { } m)
                    console.Out.WriteLine($"accuracy all {m.AllAccuracy:P1}, old {m.OldAccuracy:P1}, new {m.NewAccuracy:P1}; NMI {m.Nmi:F3}, ARI {m.Ari:F3} ({m.Items} items with ground truth)");
                console.Out.WriteLine("seconds: " + string.Join(", ", result.PhaseSeconds.Select(p => $"{p.Key} {p.Value:F1}")));
                console.Out.WriteLine($"wrote {string.Join(", ", result.Files)}");
            }
            return 0;
        });
        return command;
    }
}

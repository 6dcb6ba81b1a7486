using System.CommandLine;
using Protea.Data;
using Protea.Models;
using Protea.Prototypes;
using Protea.Runs;
using Protea.Training;
using Protea.Training.Objectives;
using TorchSharp;

namespace Protea.Cli.Commands;

/// <summary>`protea train`: data spec + options -> a run folder with the model, metrics, plots and report.</summary>
public static class TrainCommand
{
    public const string Examples = """
        protea train --data fashion-mnist --arch cnn --epochs 4 --out runs/cnn
        protea train --data photos/ --arch resnet18 --stem imagenet --init resnet18.safetensors --image-size 64 --out runs/photos
        protea train --data iris.csv --label species --arch mlp --head ncm --epochs 50 --batch-size 16 --out runs/iris
        protea train --data fashion-mnist --recipe full --out runs/full --resume
        """;

    private static readonly Option<string> Data = new("--data") { Description = "fashion-mnist, a folder of class sub-folders (optional train/ test/), or a .csv file", Required = true };
    private static readonly Option<string> Out = new("--out") { Description = "Run folder to write (model files, metrics.json, plots, report.md)", Required = true };
    private static readonly Option<string?> Recipe = new("--recipe")
    {
        Description = "Starting recipe: auto (chosen from the data's size, printed at the start), quick (Fashion-MNIST's, minutes) or full (longer, " +
            "stronger augmentation); default: quick for fashion-mnist, else auto",
    };
    private static readonly Option<string?> Arch = new("--arch")
    {
        Description = $"Backbone: {string.Join(" | ", Architectures.BackboneNames)} (default: {Architectures.DefaultFor(InputKind.Image).Name} for images, {Architectures.DefaultFor(InputKind.Tabular).Name} for CSV)",
    };
    private static readonly Option<string> Head = new("--head") { Description = $"Head: {string.Join(" | ", Architectures.HeadNames)}", DefaultValueFactory = _ => Architectures.HeadNames[0] };
    private static readonly Option<string?> Stem = new("--stem") { Description = "resnet18 stem: small (3x3, no max-pool) | imagenet (7x7 + max-pool, as torchvision)" };
    private static readonly Option<double?> Width = new("--width") { Description = "Channel multiplier of the backbone (0.5: half as wide; cnn, resnet18, mlp), saved with the model" };
    private static readonly Option<string?> Init = new("--init") { Description = "torchvision-format resnet18 weights (.safetensors) to fine-tune from" };
    private static readonly Option<double?> BackboneLrScale = new("--backbone-lr-scale")
    {
        Description = "With --init: the pretrained backbone's learning rate as a fraction of the new head's (default: 0.1)",
    };
    private static readonly Option<string?> Keep = new("--keep")
    {
        Description = "Weights to save when data is held out for validation: best (the epoch with the highest validation accuracy, " +
            "ties to the lower validation loss; default) | last",
    };
    private static readonly Option<string?> BnRecalibrate = new("--bn-recalibrate")
    {
        Description = "Re-estimate BatchNorm statistics on the training data after training: on | off | auto (on for runs of at most " +
            "2,000 optimiser steps); default: auto with the auto recipe, else off",
    };
    private static readonly Option<int?> Epochs = new("--epochs") { Description = "Number of epochs (default: the recipe's)" };
    private static readonly Option<int?> BatchSize = new("--batch-size") { Description = "Batch size (default: 128)" };
    private static readonly Option<string?> Lr = new("--lr")
    {
        Description = "Peak learning rate, or auto: a learning-rate range test (as protea lr-find, at most 100 batches or 60 s) picks it before training",
    };
    private static readonly Option<string?> Optimizer = new("--optimizer") { Description = "sgd (Nesterov momentum) | adamw" };
    private static readonly Option<string?> Schedule = new("--schedule") { Description = "onecycle | cosine | constant" };
    private static readonly Option<double?> Warmup = new("--warmup") { Description = "OneCycle warm-up: fraction of the steps over which the learning rate rises (default: 0.3, or the auto recipe's)" };
    private static readonly Option<double?> WeightDecay = new("--weight-decay") { Description = "Weight decay" };
    private static readonly Option<double?> LabelSmoothing = new("--label-smoothing") { Description = "Label smoothing (0..1)" };
    private static readonly Option<string> Objective = new("--objective")
    {
        Description = "Training loss: ce | supcon | simclr | triplet | triplet-semihard | center, or a weighted sum name[:weight]+... (supcon+ce, supcon:1+ce:0.5). "
            + "supcon/simclr compare two augmented views through a projection head that is not saved; without ce the head trains "
            + "on the detached embeddings (or use --head ncm). Mixup/CutMix cannot be combined with supcon/simclr",
        DefaultValueFactory = _ => ObjectiveList.Default,
    };
    private static readonly Option<double?> Temperature = new("--temperature") { Description = "Temperature of supcon/simclr (default: 0.1 supcon, 0.5 simclr)" };
    private static readonly Option<int?> PrototypesPerClass = new("--prototypes-per-class") { Description = "Head parts: prototypes per class (default 10)" };
    private static readonly Option<int?> PrototypeDim = new("--prototype-dim") { Description = "Head parts: channels D of the add-on and the 1x1xD prototypes (default 32)" };
    private static readonly Option<double?> ClusterCost = new("--cluster-cost") { Description = "Head parts: cluster cost coefficient (default 0.2; the paper's 0.8 suits pretrained backbones)" };
    private static readonly Option<double?> SeparationCost = new("--separation-cost") { Description = "Head parts: separation cost coefficient (default -0.08)" };
    private static readonly Option<double?> OrthogonalityCost = new("--orthogonality-cost") { Description = "Head parts: orthogonality of a class's prototypes (default 0 = off)" };
    private static readonly Option<double?> L1Last = new("--l1-last") { Description = "Head parts: L1 on the last layer's wrong-class connections (default 1e-4)" };
    private static readonly Option<int?> WarmupEpochs = new("--warmup-epochs") { Description = "Head parts: epochs with the backbone frozen (default: a quarter of the epochs with --init, else 0)" };
    private static readonly Option<int?> PushCycles = new("--push-cycles") { Description = "Head parts: pushes of the prototypes onto training patches, evenly spaced, the last after the final epoch (default 1)" };
    private static readonly Option<double?> PrototypeLrScale = new("--prototype-lr-scale") { Description = "Head parts: the prototypes' learning rate as a multiple of the run's (default 0.1; no weight decay)" };
    private static readonly Option<double?> LastLayerLrScale = new("--last-layer-lr-scale") { Description = "Head parts: the last layer's learning rate through the epochs as a multiple of the run's (default 0: fixed at +1/-0.5 until the last-layer stage, as the paper)" };
    private static readonly Option<int?> PruneK = new("--prune-k") { Description = "Head parts: after the last push, prune a prototype when fewer than half of its k nearest training images are of its class (default 6; 0 = no pruning)" };
    private static readonly Option<int?> LastLayerSteps = new("--last-layer-steps") { Description = "Head parts: at most this many full-batch steps of the convex last-layer fit after each push, which stops when converged (default 2000)" };
    private static readonly Option<int?> LastLayerEpochs = new("--last-layer-epochs") { Description = "Head parts: instead of the convex fit, this many epochs of mini-batch Adam for the last layer (the earlier stage)" };
    private static readonly Option<double?> Margin = new("--margin") { Description = "Margin of triplet/triplet-semihard on squared distances of unit embeddings (default: 0.2)" };
    private static readonly Option<string?> Sampler = new("--sampler") { Description = "Batches: random | pk (P classes x K items each; the default for triplet objectives)" };
    private static readonly Option<int?> ClassesPerBatch = new("--classes-per-batch") { Description = "pk sampler: P classes per batch (default: min(classes, batch size / 4))" };
    private static readonly Option<int?> ItemsPerClass = new("--items-per-class") { Description = "pk sampler: K items per class (default: batch size / P)" };
    private static readonly Option<int?> CropPadding = new("--crop-padding") { Description = "Random crop with this zero padding (0 = off)" };
    private static readonly Option<bool?> Flip = new("--flip") { Description = "Random horizontal flips (true/false); off unless the recipe is quick or full: wrong for digits, text and anything with handedness" };
    private static readonly Option<double?> Mixup = new("--mixup") { Description = "Mixup Beta(alpha, alpha); 0 = off" };
    private static readonly Option<double?> CutMix = new("--cutmix") { Description = "CutMix Beta(alpha, alpha); 0 = off" };
    private static readonly Option<double?> Validation = new("--validation") { Description = "Fraction held out for per-epoch validation (0 = none)" };
    private static readonly Option<int?> Limit = new("--limit") { Description = "Train on a seeded random subset of N examples" };
    private static readonly Option<string?> Label = new("--label") { Description = "CSV label column (default: label/class/target, else the last column)" };
    private static readonly Option<string?> Id = new("--id") { Description = "CSV id column, never a feature (default: a column named id, if any)" };
    private static readonly Option<string?> Categorical = new("--categorical") { Description = "CSV text columns to one-hot encode: COL,COL or auto (every column holding text); categories are saved with the model" };
    private static readonly Option<string?> Classes = new("--classes") { Description = "Only these classes: indices into the sorted class list (0-4,7) or names (cat,dog)" };
    private static readonly Option<int?> ImageSize = new("--image-size") { Description = "Resize images to SIZE x SIZE" };
    private static readonly Option<int?> Channels = new("--channels") { Description = "1 (grayscale) or 3 (RGB); default: what the images are" };
    private static readonly Option<int> Seed = new("--seed") { Description = "Seed for initialisation, shuffling and augmentation", DefaultValueFactory = _ => 0 };
    private static readonly Option<int> Threads = new("--threads") { Description = "CPU threads", DefaultValueFactory = _ => Environment.ProcessorCount };
    private static readonly Option<bool> KeepIndex = new("--keep-index") { Description = "Keep the training items' embedding index with the model (train.index) so predict --explain can show the nearest training items" };
    private static readonly Option<bool> Resume = new("--resume") { Description = "Continue from the run folder's last checkpoint" };
    private static readonly Option<bool> Json = new("--json") { Description = "Print one JSON object with the results (no progress)" };

    public static Command Create(CliConsole console)
    {
        var command = new Command("train", "Train a classifier and write a run folder.")
        {
            Data, Out, Recipe, Arch, Head, Stem, Width, Init, BackboneLrScale, Keep, BnRecalibrate, Epochs, BatchSize, Lr, Optimizer, Schedule, Warmup, WeightDecay, LabelSmoothing,
            Objective, Temperature, Margin, Sampler, ClassesPerBatch, ItemsPerClass, PrototypesPerClass, PrototypeDim, ClusterCost, SeparationCost, OrthogonalityCost, L1Last, WarmupEpochs,
            PushCycles, PrototypeLrScale, LastLayerLrScale, PruneK, LastLayerSteps, LastLayerEpochs, CropPadding, Flip, Mixup, CutMix, Validation, Limit, Label, Id, Categorical, Classes, ImageSize, Channels, Seed, Threads, KeepIndex, Resume, Json,
        };
        var loading = new DataLoadFlags();
        loading.AddTo(command);
        command.SetAction(p =>
        {
            var spec = loading.Apply(p, DataSpec.Parse(p.GetValue(Data)!, new DataSpecOptions
            {
                LabelColumn = p.GetValue(Label), IdColumn = p.GetValue(Id), Categorical = p.GetValue(Categorical), Classes = p.GetValue(Classes),
                ImageSize = p.GetValue(ImageSize), Channels = p.GetValue(Channels),
            }), console, p.GetValue(Json));
            var recipe = p.GetValue(Recipe) ?? Recipes.DefaultFor(spec.Kind);
            var isTabular = spec.Kind == DataSourceKind.Csv;
            var arch = p.GetValue(Arch) ?? Architectures.DefaultFor(isTabular ? InputKind.Tabular : InputKind.Image).Name;
            var json = p.GetValue(Json);
            var lrText = p.GetValue(Lr);
            var lrAuto = string.Equals(lrText, "auto", StringComparison.OrdinalIgnoreCase);
            double? lr = lrText is null || lrAuto ? null
                : double.TryParse(lrText, System.Globalization.NumberStyles.Float, System.Globalization.CultureInfo.InvariantCulture, out var value) ? value
                : throw new ProteaException($"learning rate '{lrText}' is neither a number nor auto", "learning_rate");
            // Flags override the recipe's fields; with auto, once more after the rule has seen the data.
            TrainOptions WithFlags(TrainOptions r) => r with
            {
                Architecture = arch,
                Head = p.GetValue(Head)!,
                Stem = p.GetValue(Stem),
                Width = p.GetValue(Width) ?? r.Width,
                Init = p.GetValue(Init),
                BackboneLearningRateScale = p.GetValue(BackboneLrScale),
                Keep = p.GetValue(Keep) ?? r.Keep,
                BatchNormRecalibration = p.GetValue(BnRecalibrate) ?? r.BatchNormRecalibration,
                Epochs = p.GetValue(Epochs) ?? r.Epochs,
                BatchSize = p.GetValue(BatchSize) ?? r.BatchSize,
                LearningRate = lr ?? r.LearningRate,
                Optimizer = p.GetValue(Optimizer) ?? r.Optimizer,
                Schedule = p.GetValue(Schedule) ?? r.Schedule,
                Warmup = p.GetValue(Warmup) ?? r.Warmup,
                WeightDecay = p.GetValue(WeightDecay) ?? r.WeightDecay,
                LabelSmoothing = p.GetValue(LabelSmoothing) ?? r.LabelSmoothing,
                Objective = p.GetValue(Objective)!,
                Temperature = p.GetValue(Temperature),
                Parts = PartsFlags(p),
                Margin = p.GetValue(Margin),
                Sampler = p.GetValue(Sampler),
                ClassesPerBatch = p.GetValue(ClassesPerBatch),
                ItemsPerClass = p.GetValue(ItemsPerClass),
                CropPadding = p.GetValue(CropPadding) ?? r.CropPadding,
                Flip = p.GetValue(Flip) ?? r.Flip,
                MixupAlpha = p.GetValue(Mixup) ?? r.MixupAlpha,
                CutMixAlpha = p.GetValue(CutMix) ?? r.CutMixAlpha,
                ValidationFraction = p.GetValue(Validation) ?? r.ValidationFraction,
                Limit = p.GetValue(Limit),
                Seed = p.GetValue(Seed),
                Threads = p.GetValue(Threads),
                KeepIndex = p.GetValue(KeepIndex),
            };
            var options = WithFlags(Recipes.Get(recipe));
            Func<Dataset, TrainOptions>? choose = recipe != Recipes.Auto && !lrAuto ? null : train =>
            {
                var items = train.Labels.Count(l => l >= 0);
                var chosen = recipe != Recipes.Auto ? options
                    : WithFlags(AutoRecipe.Choose(new AutoRecipe.Inputs(items, train.ClassNames.Count, train.ExampleShape, train.Kind,
                        options.Architecture, Pretrained: options.Init is not null), baseline: options));
                if (!json && recipe == Recipes.Auto)
                    console.Error.WriteLine(AutoRecipe.Describe(chosen, items));
                if (lrAuto)
                {
                    torch.manual_seed(chosen.Seed);
                    var found = new LearningRateFinder(chosen).Find(train);
                    chosen = chosen with { LearningRate = found.Suggestion };
                    if (!json)
                        console.Error.WriteLine($"learning rate auto: {found.Suggestion:G3} from a range test ({found.Curve.Count} steps, {found.Seconds:F1} s, {found.Method})");
                }
                return chosen;
            };
            if (!json && recipe != Recipes.Auto && FineTuning.BackboneScale(options) is { } scale)
                console.Error.WriteLine($"fine-tuning: the backbone learns at {scale:G3} x the head's learning rate");
            return Run(console, spec, options, p.GetValue(Out)!, p.GetValue(Resume), json, choose, restartOnDivergence: recipe == Recipes.Auto);
        });
        return command;
    }

    /// <summary>The parts head's settings when any of its flags is given, else null (the defaults).</summary>
    private static PartsOptions? PartsFlags(ParseResult p)
    {
        var d = new PartsOptions();
        var parts = d with
        {
            PrototypesPerClass = p.GetValue(PrototypesPerClass) ?? d.PrototypesPerClass,
            PrototypeDim = p.GetValue(PrototypeDim) ?? d.PrototypeDim,
            ClusterCost = p.GetValue(ClusterCost) ?? d.ClusterCost,
            SeparationCost = p.GetValue(SeparationCost) ?? d.SeparationCost,
            OrthogonalityCost = p.GetValue(OrthogonalityCost) ?? d.OrthogonalityCost,
            L1Last = p.GetValue(L1Last) ?? d.L1Last,
            WarmupEpochs = p.GetValue(WarmupEpochs),
            PushCycles = p.GetValue(PushCycles) ?? d.PushCycles,
            PrototypeLearningRateScale = p.GetValue(PrototypeLrScale) ?? d.PrototypeLearningRateScale,
            LastLayerLearningRateScale = p.GetValue(LastLayerLrScale) ?? d.LastLayerLearningRateScale,
            LastLayerSteps = p.GetValue(LastLayerSteps) ?? d.LastLayerSteps,
            PruneK = p.GetValue(PruneK) ?? d.PruneK,
            LastLayerEpochs = p.GetValue(LastLayerEpochs),
        };
        return parts == d ? null : parts;
    }

    /// <summary>Shared by train and quickstart: run, then print the summary table or one JSON object.</summary>
    public static int Run(CliConsole console, DataSpec spec, TrainOptions options, string outDir, bool resume, bool json,
        Func<Dataset, TrainOptions>? choose = null, bool restartOnDivergence = false)
    {
        var progress = new TrainingProgressPrinter(console.Error, live: console.Interactive, quiet: json);
        var result = TrainingRun.Execute(spec, options, outDir, resume, progress, choose: choose,
            restartOnDivergence: restartOnDivergence, notice: json ? null : console.Error.WriteLine);
        if (json)
            console.WriteJson(result);
        else
            SummaryTable.Write(console, result);
        return 0;
    }
}

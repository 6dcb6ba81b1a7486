using System.CommandLine;
using Protea.Deploy;
using Protea.Mil;

namespace Protea.Cli.Commands;

/// <summary>`protea train-bags`: multiple-instance learning, each image a bag of patches with one label.</summary>
public static class TrainBagsCommand
{
    public const string Examples = """
        protea make-bags --target Bag --out bags/train && protea make-bags --target Bag --split test --count 200 --out bags/test
        protea train-bags --data bags --out runs/bags --patch 28 --background dark:0.01 --pooling gated-attention
        protea predict --model runs/bags bags/test/positive/bag_00003.png --json
        """;

    private static readonly Option<string> Data = new("--data") { Description = "A folder of class sub-folders of images (each image one bag), optionally with train/ and test/", Required = true };
    private static readonly Option<string> Out = new("--out") { Description = "Model folder to write", Required = true };
    private static readonly Option<string> Arch = new("--arch") { Description = "Patch encoder: any image backbone (cnn | resnet18)", DefaultValueFactory = _ => "cnn" };
    private static readonly Option<string> Pooling = new("--pooling") { Description = $"MIL pooling: {string.Join(" | ", MilPoolings.All.Names)}", DefaultValueFactory = _ => GatedAttentionPooling.Spec.Name };
    private static readonly Option<int> Patch = new("--patch") { Description = "Patch side in pixels", DefaultValueFactory = _ => 28 };
    private static readonly Option<int?> Stride = new("--stride") { Description = "Patch stride in pixels (default: the patch side)" };
    private static readonly Option<string?> Background = new("--background") { Description = "Drop background patches by mean intensity: dark:T (mean <= T) or bright:T (mean >= T), T in 0..1" };
    private static readonly Option<int> Channels = new("--channels") { Description = "1 (grayscale) or 3 (RGB)", DefaultValueFactory = _ => 1 };
    private static readonly Option<int> Epochs = new("--epochs") { Description = "Epochs", DefaultValueFactory = _ => 10 };
    private static readonly Option<int> BatchSize = new("--batch-size") { Description = "Bags per step (fewer when their patches pass --patch-budget)", DefaultValueFactory = _ => 8 };
    private static readonly Option<int> PatchBudget = new("--patch-budget") { Description = "Most patches stacked at once", DefaultValueFactory = _ => 512 };
    private static readonly Option<double> Lr = new("--lr") { Description = "Adam learning rate", DefaultValueFactory = _ => 5e-4 };
    private static readonly Option<double> InstanceWeight = new("--instance-weight") { Description = "Weight of the instance branch's loss on attention pseudo-labels (0: off)", DefaultValueFactory = _ => 0 };
    private static readonly Option<double> MaskRatio = new("--mask-ratio") { Description = "Masked hard-instance mining: share of each bag's most teacher-attended patches masked in a second view (0: off)", DefaultValueFactory = _ => 0 };
    private static readonly Option<double> TeacherMomentum = new("--teacher-momentum") { Description = "EMA teacher momentum for --mask-ratio", DefaultValueFactory = _ => 0.99 };
    private static readonly Option<int> Limit = new("--limit") { Description = "Use at most this many training bags (0: all)", DefaultValueFactory = _ => 0 };
    private static readonly Option<int> Seed = new("--seed") { Description = "Seed", DefaultValueFactory = _ => 0 };
    private static readonly Option<int> Threads = new("--threads") { Description = "CPU threads", DefaultValueFactory = _ => Environment.ProcessorCount };
    private static readonly Option<bool> Json = new("--json") { Description = "Print one JSON object (epochs and test figures)" };

    public sealed record TrainBagsOutput(string Model, IReadOnlyList<MilEpoch> Epochs, BagEvaluation? Test);

    public static Command Create(CliConsole console)
    {
        var command = new Command("train-bags", "Train a multiple-instance model: each image is a bag of patches with one label; a patch encoder and a MIL pooling head (mean, max, attention, gated-attention) predict the bag and weigh its patches.")
        { Data, Out, Arch, Pooling, Patch, Stride, Background, Channels, Epochs, BatchSize, PatchBudget, Lr, InstanceWeight, MaskRatio, TeacherMomentum, Limit, Seed, Threads, Json };
        command.SetAction(p =>
        {
            var threads = p.GetValue(Threads);
            HostSetup.SetTorchThreads(threads);
            var options = new MilOptions
            {
                Architecture = p.GetValue(Arch)!, Pooling = p.GetValue(Pooling)!, Patch = p.GetValue(Patch), Stride = p.GetValue(Stride),
                Background = p.GetValue(Background), Channels = p.GetValue(Channels), Epochs = p.GetValue(Epochs),
                BagsPerBatch = p.GetValue(BatchSize), PatchBudget = p.GetValue(PatchBudget), LearningRate = p.GetValue(Lr),
                InstanceWeight = p.GetValue(InstanceWeight), MaskRatio = p.GetValue(MaskRatio), TeacherMomentum = p.GetValue(TeacherMomentum), Limit = p.GetValue(Limit), Seed = p.GetValue(Seed),
            };
            var dataDir = p.GetValue(Data)!;
            var train = BagFolder.Open(dataDir, "train");
            var json = p.GetValue(Json);
            var epochs = new List<MilEpoch>();
            var progress = new Progress<MilEpoch>(e =>
            {
                lock (epochs) epochs.Add(e);
                if (!json) console.Out.WriteLine($"epoch {e.Epoch}: loss {e.Loss:0.0000}, bag accuracy {e.Accuracy:P1}, {e.Bags / e.Seconds:0.0} bags/s, {e.Patches / e.Seconds:0} patches/s");
            });
            using var model = MilTrainer.Train(train, options, new SynchronousProgress<MilEpoch>(e => ((IProgress<MilEpoch>)progress).Report(e)));
            var outDir = p.GetValue(Out)!;
            BagEvaluation? test = null;
            if (BagFolder.HasSplit(dataDir, "test"))
            {
                var testBags = BagFolder.Open(dataDir, "test");
                using var predictor = new BagPredictor(model, model.TorchEncoder(), ownsEngine: true);
                test = BagEvaluation.Run(predictor, testBags, Path.Combine(testBags.Root, BagMosaicGenerator.TilesFile));
                if (!json)
                    console.Out.WriteLine($"test: {test.Bags} bags, accuracy {test.Accuracy:P1}"
                        + (test.BagAuroc is { } a ? $", bag AUROC {a:0.000}" : "")
                        + (test.LocalisationAuroc is { } l ? $", patch-localisation AUROC {l:0.000}" : ""));
            }
            var metrics = new Dictionary<string, double>();
            if (test is not null)
            {
                metrics["test_accuracy"] = test.Accuracy;
                if (test.BagAuroc is { } a) metrics["test_bag_auroc"] = a;
                if (test.LocalisationAuroc is { } l) metrics["test_localisation_auroc"] = l;
            }
            var saved = new MilModel(model.Description with { Metrics = metrics }, model.EncoderDescription, model.Network);
            saved.Save(outDir);
            if (json) console.WriteJson(new TrainBagsOutput(outDir, epochs, test));
            else console.Out.WriteLine($"saved {outDir} (`protea export --model {outDir}` for the ONNX encoder)");
            return 0;
        });
        return command;
    }

    /// <summary>Reports on the caller's thread, in order (Progress&lt;T&gt; would post to the thread pool).</summary>
    private sealed class SynchronousProgress<T>(Action<T> report) : IProgress<T>
    {
        public void Report(T value) => report(value);
    }
}

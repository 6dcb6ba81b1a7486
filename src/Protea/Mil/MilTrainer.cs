using Protea.Data;
using Protea.Models;
using TorchSharp;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;

namespace Protea.Mil;

/// <summary>One epoch's training figures.</summary>
public sealed record MilEpoch(int Epoch, double Loss, double Accuracy, double Seconds, int Bags, long Patches);

/// <summary>
/// Trains a bag model, top to bottom: bags, normalisation, network, optimiser, loop, model. Each step
/// takes up to <see cref="MilOptions.BagsPerBatch"/> bags whose patches fit the patch budget, stacks
/// their patches once (views of each decoded image until then), and minimises the bag cross-entropy,
/// plus the instance branch's loss on attention pseudo-labels when asked.
/// </summary>
public static class MilTrainer
{
    public static MilModel Train(BagFolder bags, MilOptions options, IProgress<MilEpoch>? progress = null, CancellationToken cancel = default)
    {
        options.Check();
        var grid = PatchGrid.Create(options.Patch, options.Stride);
        var background = BackgroundFilter.Parse(options.Background);
        var items = options.Limit > 0 ? bags.Items.Take(options.Limit).ToList() : bags.Items.ToList();
        var classes = bags.ClassNames;
        // Fail on a bad image or an empty bag before any training, not in epoch 3.
        foreach (var item in items)
            using (BagImage.Read(item.Path, options.Channels, grid, background)) { }

        torch.manual_seed(options.Seed);
        var normalization = FitNormalization(items, options, grid, background);
        var encoderDescription = new ModelDescription
        {
            Architecture = options.Architecture,
            Head = LinearHead.Spec.Name,
            InputKind = InputKind.Image,
            InputShape = [options.Channels, options.Patch, options.Patch],
            ClassNames = classes,
            Normalization = normalization,
        };
        var encoder = Architectures.Create(encoderDescription);
        var pooling = MilPoolings.All.Get(options.Pooling).Create(encoder.Backbone.EmbeddingDim);
        var network = new MilNetwork(encoder, pooling, classes.Count);
        using var optimizer = optim.Adam(network.parameters(), options.LearningRate, weight_decay: options.WeightDecay);
        using var mining = options.MaskRatio > 0
            ? new MaskedInstanceMining(network, new MilNetwork(Architectures.Create(encoderDescription),
                MilPoolings.All.Get(options.Pooling).Create(encoder.Backbone.EmbeddingDim), classes.Count), options.MaskRatio, options.TeacherMomentum)
            : null;
        var random = new Random(options.Seed);
        for (var epoch = 1; epoch <= options.Epochs; epoch++)
        {
            network.train();
            var clock = System.Diagnostics.Stopwatch.StartNew();
            double lossSum = 0;
            int correct = 0;
            long patches = 0;
            var order = items.OrderBy(_ => random.Next()).ToList();
            foreach (var batch in Batches(order, options, grid, background))
            {
                cancel.ThrowIfCancellationRequested();
                using var scope = NewDisposeScope();
                try
                {
                    using var segments = new BagSegments(batch.Select(b => b.Image.Count).ToArray());
                    var raw = cat(batch.Select(b => b.Image.Stack(0, b.Image.Count)).ToArray());
                    var labels = tensor(batch.Select(b => (long)b.Item.Label).ToArray());
                    var x = normalization.Apply(raw);
                    var outputs = network.forward(x, segments);
                    var loss = functional.cross_entropy(outputs.BagLogits, labels);
                    if (options.InstanceWeight > 0)
                        loss = loss + InstanceLoss(outputs, segments, labels) * options.InstanceWeight;
                    if (mining is not null)
                    {
                        // The second view: the teacher's most attended instances masked out of every bag.
                        var (keep, sizes) = MaskedInstanceMining.MaskedView(mining.TeacherWeights(x, segments), segments.Sizes, mining.Ratio);
                        using var maskedSegments = new BagSegments(sizes);
                        var masked = network.forward(x.index_select(0, tensor(keep)), maskedSegments);
                        loss = loss + functional.cross_entropy(masked.BagLogits, labels);
                    }
                    optimizer.zero_grad();
                    loss.backward();
                    optimizer.step();
                    mining?.Update(network);
                    lossSum += loss.item<float>() * batch.Count;
                    correct += (int)outputs.BagLogits.argmax(1).eq(labels).sum().item<long>();
                    patches += segments.Instances;
                }
                finally
                {
                    foreach (var b in batch) b.Image.Dispose();
                }
            }
            progress?.Report(new MilEpoch(epoch, lossSum / order.Count, (double)correct / order.Count, clock.Elapsed.TotalSeconds, order.Count, patches));
        }
        network.eval();
        var description = new MilDescription
        {
            Pooling = options.Pooling,
            Patch = grid.Patch,
            Stride = grid.Stride,
            Background = background?.ToString(),
            ClassNames = classes,
            Options = options,
        };
        return new MilModel(description, encoderDescription, network);
    }

    /// <summary>
    /// Pseudo-labels from the attention (detached): in each bag the most attended tenth (at least one)
    /// of its instances take the bag's class; every instance of a first-class bag takes the first class.
    /// </summary>
    private static Tensor InstanceLoss(MilOutputs outputs, BagSegments segments, Tensor labels)
    {
        var weights = outputs.Weights.detach().ToFloats();
        var bagLabels = labels.data<long>().ToArray();
        var chosen = new List<long>();
        var targets = new List<long>();
        for (int b = 0, start = 0; b < segments.Bags; start += segments.Sizes[b], b++)
        {
            var n = segments.Sizes[b];
            var ranked = Enumerable.Range(start, n).OrderByDescending(i => weights[i]).ToArray();
            var take = bagLabels[b] == 0 ? n : Math.Max(1, n / 10);
            foreach (var i in ranked.Take(take))
            {
                chosen.Add(i);
                targets.Add(bagLabels[b]);
            }
        }
        return functional.cross_entropy(outputs.InstanceLogits.index_select(0, tensor(chosen.ToArray())), tensor(targets.ToArray()));
    }

    private sealed record LoadedBag(BagItem Item, BagImage Image);

    /// <summary>Bags in the given order, grouped while the group's patches stay within the budget (a larger bag goes alone).</summary>
    private static IEnumerable<List<LoadedBag>> Batches(List<BagItem> order, MilOptions options, PatchGrid grid, BackgroundFilter? background)
    {
        var batch = new List<LoadedBag>();
        var patches = 0;
        foreach (var item in order)
        {
            var image = BagImage.Read(item.Path, options.Channels, grid, background);
            if (batch.Count > 0 && (batch.Count == options.BagsPerBatch || patches + image.Count > options.PatchBudget))
            {
                yield return batch;
                batch = [];
                patches = 0;
            }
            batch.Add(new LoadedBag(item, image));
            patches += image.Count;
        }
        if (batch.Count > 0) yield return batch;
    }

    /// <summary>Per-channel statistics of the kept patches of up to 64 bags.</summary>
    private static InputNormalization FitNormalization(List<BagItem> items, MilOptions options, PatchGrid grid, BackgroundFilter? background)
    {
        using var scope = NewDisposeScope();
        var stacks = new List<Tensor>();
        foreach (var item in items.Take(64))
        {
            using var image = BagImage.Read(item.Path, options.Channels, grid, background);
            stacks.Add(image.Stack(0, image.Count));
        }
        return InputNormalization.Fit(cat(stacks));
    }
}

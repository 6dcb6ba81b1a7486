using Protea.Evaluation;
using Protea.Models;
using Protea.Prototypes;
using TorchSharp;
using static TorchSharp.torch;

namespace Protea.Training.Stages;

/// <summary>
/// ProtoPNet's push and last-layer stages: after the epochs that end a push cycle
/// (<see cref="PartsOptions.PushCycles"/>, evenly spaced, the last after the final epoch), every
/// prototype is replaced by its nearest own-class training patch (<see cref="PrototypePush"/>) and the
/// last layer is fitted on the frozen similarities with L1 on wrong-class connections, as the convex
/// problem it is (<see cref="LastLayerTuning.Fit"/>; mini-batch Adam epochs when those are set). After the final push, hygiene merges duplicates and prunes
/// prototypes whose neighbours are mostly of other classes (<see cref="PrototypeHygiene"/>), and the
/// head is rebuilt with the prototypes that remain.
/// </summary>
public sealed class PrototypePushStage : IStage
{
    /// <summary>What the last push and hygiene did, with the seconds each part took (push, last layer), or null before.</summary>
    public PartsTrainingSummary? Summary { get; private set; }

    private double pushSeconds, lastLayerSeconds;

    public void AfterEpoch(StageContext context, EpochRecord epoch)
    {
        var o = context.Options.Parts ?? new PartsOptions();
        var epochs = context.Options.Epochs;
        // Cycle c (1-based) ends after epoch round(c * epochs / cycles); the last one is AfterTraining's.
        var ends = Enumerable.Range(1, o.PushCycles - 1).Select(c => (int)Math.Round((double)c * epochs / o.PushCycles)).ToHashSet();
        if (!ends.Contains(epoch.Epoch)) return;
        var head = (PartsHead)context.Model.Head;
        PushAndTune(context, o, head, out var min);
        min.Dispose();
    }

    public void AfterTraining(StageContext context)
    {
        var o = context.Options.Parts ?? new PartsOptions();
        var model = context.Model;
        var head = (PartsHead)model.Head;
        var pushed = PushAndTune(context, o, head, out var min, tune: false);
        using (min)
        {
            var watch = System.Diagnostics.Stopwatch.StartNew();
            HygieneResult hygiene;
            using (var lastLayer = head.LastLayerWeight.detach().clone())
            {
                hygiene = PrototypeHygiene.Apply(head.Sources, head.PrototypeClasses, min, context.Train.Labels, o.PruneK, lastLayer, (int)head.NumClasses);
                using var keep = tensor(hygiene.Keep.Select(j => (long)j).ToArray());
                using var kept = lastLayer.index_select(1, keep);
                using var keptMin = min.index_select(1, keep);
                var selected = head.Select(hygiene.Keep);
                using var identity = selected.ClassIdentity();
                using var tuned = TuneLastLayer(o, keptMin, context.Train.Labels, kept, identity, context.Options.Seed);
                using (no_grad()) selected.LastLayerWeight.copy_(tuned);
                var classifier = new Classifier(model.Backbone, selected);
                classifier.eval();
                context.Model = classifier;
            }
            lastLayerSeconds += watch.Elapsed.TotalSeconds;
            var distinct = pushed.Select(p => (p.Source.ItemId, p.Source.Row, p.Source.Col)).Distinct().Count();
            Summary = new PartsTrainingSummary(pushed.Count, distinct, hygiene.Merged, hygiene.Pruned,
                hygiene.PerClass, pushSeconds, lastLayerSeconds)
            {
                LastLayerSteps = o.LastLayerEpochs is null ? LastFit?.Steps : null,
                LastLayerConverged = o.LastLayerEpochs is null ? LastFit?.Converged : null,
            };
            ((PartsHead)context.Model.Head).Summary = Summary;
        }
    }

    private IReadOnlyList<PushedPrototype> PushAndTune(StageContext context, PartsOptions o, PartsHead head, out Tensor min, bool tune = true)
    {
        var watch = System.Diagnostics.Stopwatch.StartNew();
        var pushed = PrototypePush.Push(context.Model, context.Train, context.Normalization);
        min = PrototypePush.MinDistances(context.Model, context.Train, context.Normalization);
        pushSeconds += watch.Elapsed.TotalSeconds;
        if (!tune) return pushed;
        watch.Restart();
        using var identity = head.ClassIdentity();
        using var tuned = TuneLastLayer(o, min, context.Train.Labels, head.LastLayerWeight, identity, context.Options.Seed);
        using (no_grad()) head.LastLayerWeight.copy_(tuned);
        lastLayerSeconds += watch.Elapsed.TotalSeconds;
        return pushed;
    }

    /// <summary>The last-layer stage on the frozen distances: the convex fit, or mini-batch Adam epochs when those are set.</summary>
    private Tensor TuneLastLayer(PartsOptions o, Tensor minDistances, long[] labels, Tensor initial, Tensor identity, int seed)
    {
        if (o.LastLayerEpochs is { } epochs)
            return LastLayerTuning.Tune(minDistances, labels, initial, identity, o.L1Last, epochs, seed);
        using var similarities = PartsHead.Similarity(minDistances);
        var tuned = LastLayerTuning.Fit(similarities, labels, initial, identity, o.L1Last, o.LastLayerSteps, out var fit);
        LastFit = fit;
        return tuned;
    }

    /// <summary>What the last convex last-layer fit did, or null.</summary>
    public LastLayerFit? LastFit { get; private set; }
}

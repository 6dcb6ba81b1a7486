using System.Diagnostics;
using Protea.Data;
using Protea.Evaluation;
using Protea.Models;
using Protea.Training.Objectives;
using Protea.Training.Optimizers;
using Protea.Training.Sampling;
using Protea.Training.Stages;
using TorchSharp;
using static TorchSharp.torch;

namespace Protea.Training;

/// <summary>
/// The learner: trains a backbone + head on a preloaded dataset in one loop (data, model, optimiser,
/// loop, validate, checkpoint) that its plug-ins open up: where it starts (<see cref="StartFrom"/>),
/// what is frozen or stepped differently (<see cref="ParameterGroups"/>), the loss
/// (<see cref="Objectives"/>), hooks around epochs (<see cref="Stages"/>), which examples form a
/// batch (<see cref="Sampler"/>) and how validation is scored (<see cref="Validation"/>).
/// </summary>
/// <remarks>
/// Each batch is gathered from the uint8 tensor, augmented and normalised with whole-tensor ops inside
/// its own DisposeScope; the loss is accumulated on-tensor, so no step waits on a host read. Shuffling,
/// augmentation and mixing draw from the trainer's own generators, seeded from (seed, epoch) alone,
/// which makes resume exact. The trainer sets no process-wide torch state: a fresh network's initial
/// weights come from torch's global generator, because TorchSharp's layers draw from it when they are
/// built and take no generator, so a host that wants a reproducible run seeds it once before training
/// (Protea.Runs.TrainingRun does, with the run's seed), and sets the thread count.
/// </remarks>
public sealed class Trainer(TrainOptions options, IProgress<TrainingProgress>? progress = null)
{
    private static readonly TimeSpan ProgressInterval = TimeSpan.FromMilliseconds(500);

    public TrainOptions Options { get; } = options;

    /// <summary>
    /// A saved model to continue training (a copy of it; the bundle is left as it is): its
    /// architecture, head, class names and input normalisation are kept, and the options'
    /// architecture, head, stem and init are not used. Null: a fresh network from the options.
    /// </summary>
    public ModelBundle? StartFrom { get; init; }

    /// <summary>Per-group learning rates, weight decay and frozen parts; the first matching group wins.</summary>
    public IReadOnlyList<ParameterGroup> ParameterGroups { get; init; } = [];

    /// <summary>
    /// The loss terms, summed; null: the options' <see cref="TrainOptions.Objective"/> list
    /// (<see cref="ObjectiveList.Parse"/>; "ce" is cross-entropy with the options' label smoothing)
    /// and the terms the head brings (<see cref="HeadSpec.Objectives"/>: the parts head's costs).
    /// </summary>
    public IReadOnlyList<IObjective>? Objectives { get; init; }

    /// <summary>
    /// How both views are made when an objective asks for a second view; null:
    /// <see cref="TwoViewAugmenter.For"/> the options and data. Without a second view the options'
    /// flip, crop and mixing apply as usual.
    /// </summary>
    public TwoViewAugmenter? Views { get; init; }

    /// <summary>Hooks around epochs; null: the stages the head brings (<see cref="TrainingStages.For"/>).</summary>
    public IReadOnlyList<IStage>? Stages { get; init; }

    /// <summary>Which examples form each batch; null: the options' (<see cref="BatchSamplers.For"/>: pk for triplet objectives, else random).</summary>
    public IBatchSampler? Sampler { get; init; }

    /// <summary>
    /// The input normalisation of a fresh network; null: fitted to the training data. A distilled
    /// student takes its teacher's, so both see the same inputs. Not used with <see cref="StartFrom"/>.
    /// </summary>
    public InputNormalization? Normalization { get; init; }

    public IValidationScorer Validation { get; init; } = new TorchValidationScorer();

    /// <summary>
    /// Watches the loss and stops a diverging run (<see cref="DivergenceGuard"/>); a host that restarts
    /// such a run reads <see cref="DivergenceGuard.Tripped"/>.
    /// </summary>
    public DivergenceGuard Divergence { get; init; } = new();

    /// <summary>
    /// Whether the validation data may steer the run (choose the kept epoch, <see cref="TrainOptions.Keep"/>);
    /// false when it is a test set that is only monitored.
    /// </summary>
    public bool ValidationSteers { get; init; } = true;

    /// <param name="train">
    /// Training examples. Unlabelled ones (label −1) are ignored, except by an objective that learns from them
    /// (<see cref="ObjectiveNeeds.UnlabelledItems"/>, SimCLR) when every other objective leaves them out of
    /// its term and batches are drawn at random; stages (NCM, BatchNorm recalibration) see the labelled ones.
    /// </param>
    /// <param name="validation">Held-out examples evaluated after each epoch, or null.</param>
    /// <param name="runDir">Where checkpoints go (runDir/checkpoint), or null for none.</param>
    /// <param name="resume">Continue from runDir's checkpoint when there is one.</param>
    public TrainingResult Train(Dataset train, Dataset? validation, string? runDir = null, bool resume = false, CancellationToken cancellation = default)
    {
        var o = Options;
        Validate(o, train);
        o.Parts?.Check(o.Epochs);

        using var labelled = LabelledOnly(train);
        var (initial, description) = StartFrom is { } start ? FromBundle(start, labelled, o) : Fresh(o, labelled, Normalization);
        var normalization = description.Normalization;
        var objectives = Objectives ?? [.. ObjectiveList.Parse(o.Objective, o.Temperature, o.LabelSmoothing, o.Margin),
            .. Registry.Heads.Get(description.Head).Objectives?.Invoke(o) ?? []];
        var sampler = Sampler ?? BatchSamplers.For(o, labelled.ClassNames.Count, objectives);
        var needs = objectives.Aggregate(ObjectiveNeeds.Logits, (all, objective) => all | objective.Needs);
        // The items the loop draws batches from: the labelled ones, or all when an objective learns from unlabelled items.
        var items = KeepsUnlabelled(objectives, sampler) && labelled.Count < train.Count ? train : labelled;
        // The run's own stages first: the kept epoch is restored, then its BatchNorm statistics
        // re-estimated, before a head's stage (NCM) fits to the final backbone.
        var checkpoint = runDir is null ? null : new Checkpoint(runDir);
        using var keeper = o.Keep == "best" && ValidationSteers && validation is { Count: > 0 } ? new BestEpochKeeper(checkpoint) : null;
        var recalibration = BatchNormRecalibration.Applies(o.BatchNormRecalibration, (long)sampler.BatchCount(labelled.Count, o.BatchSize) * o.Epochs)
            ? new BatchNormRecalibration(o.BatchSize) : null;
        IStage?[] own = [keeper, recalibration];
        var stages = own.OfType<IStage>().Concat(Stages ?? TrainingStages.For(description.Head, description.Architecture)).ToList();
        var context = new StageContext(initial, labelled, normalization, o);
        foreach (var stage in stages) stage.BeforeTraining(context);
        var model = context.Model;
        // The network as it trains (NCM trains with its cosine stand-in), for the validation scorer.
        var trainingDescription = description with { Head = model.Head.Kind };
        var headGroups = Registry.Heads.Get(description.Head).ParameterGroups?.Invoke(o) ?? [];
        var groups = ParameterGroup.Assign(model, FineTuning.Groups(o, [.. ParameterGroups, .. headGroups]), o);
        if (groups.Count == 0)
            throw new ProteaException("every parameter of the model is frozen; there is nothing to train", "parameter_groups");
        // Objectives' own weights (contrastive projection heads): trained with the run, not part of the model.
        var objectiveModules = objectives.OfType<IObjectiveWithModule>().Select(objective => (objective.Name, Module: objective.Attach(model))).ToList();
        if (objectiveModules.Count > 0)
            groups = [.. groups, .. objectiveModules.Select(m => new OptimizerGroup(
                m.Module.named_parameters().Select(p => (m.Name + "." + p.name, p.parameter)).ToList(), o.WeightDecay))];
        using var optimizer = CreateOptimizer(o, groups);

        var n = items.Count;
        var batches = sampler.BatchCount(n, o.BatchSize);
        var schedule = new LearningRateSchedule(o.Schedule, o.LearningRate, (long)batches * o.Epochs,
            warmup: o.Warmup ?? LearningRateSchedule.DefaultWarmup);
        var augmenter = new BatchAugmenter(o.Flip && labelled.Kind == InputKind.Image, labelled.Kind == InputKind.Image ? o.CropPadding : 0);
        var mix = new MixAugment(labelled.Kind == InputKind.Image ? o.MixupAlpha : 0, labelled.Kind == InputKind.Image ? o.CutMixAlpha : 0);
        var views = needs.HasFlag(ObjectiveNeeds.SecondView) ? Views ?? TwoViewAugmenter.For(o, items) : null;

        var history = new List<EpochRecord>();
        var startEpoch = 0;
        if (resume && checkpoint is { Exists: true })
        {
            var state = checkpoint.Load(o, model, optimizer);
            history.AddRange(state.History);
            startEpoch = state.CompletedEpochs;
            keeper?.Resume(state.History);
        }

        using var labels = tensor(items.Labels);
        // Held for the whole run: TorchSharp frees a temporary Scalar whenever the GC finalises it (see IOptimizer).
        using var one = 1.ToScalar();
        var watch = Stopwatch.StartNew();
        long seen = 0;
        Divergence.Reset();
        var toSee = (long)(o.Epochs - startEpoch) * n;
        float[]? validationLogits = null;
        for (var epoch = startEpoch; epoch < o.Epochs; epoch++)
        {
            cancellation.ThrowIfCancellationRequested();
            var epochWatch = Stopwatch.StartNew();
            foreach (var stage in stages) stage.BeforeEpoch(context, epoch);
            model.train();
            KeepFrozenStatistics(model);
            using var generator = new Generator((ulong)EpochSeed(o.Seed, epoch));
            var random = new Random(EpochSeed(o.Seed, epoch));
            var plan = sampler.Epoch(items.Labels, o.BatchSize, generator);
            if (plan.Count != batches)
                throw new InvalidOperationException($"the batch sampler gave {plan.Count} batches, having announced {batches}");
            using var lossSum = zeros(1, dtype: float64);
            using var correct = zeros(1, dtype: int64);
            var lastReport = TimeSpan.Zero;
            double lr = 0;
            using var source = new BatchSource(items, plan);
            try
            {
                for (var b = 0; b < batches; b++)
                {
                    using var scope = NewDisposeScope();
                    var step = (long)epoch * batches + b;
                    lr = schedule.LearningRate(step);
                    var batch = MakeBatch(source.Batch(b), labels, plan[b], normalization, augmenter, views, mix, random, generator);
                    var outputs = Forward(model, batch, needs);
                    var loss = objectives[0].Loss(batch, outputs);
                    for (var i = 1; i < objectives.Count; i++)
                        loss = loss.add(objectives[i].Loss(batch, outputs));
                    optimizer.ZeroGrad();
                    loss.backward();
                    optimizer.Step(lr, schedule.CyclesMomentum ? schedule.Momentum(step) : o.Momentum);
                    Divergence.Step(loss.ToDouble(), epoch, step, labelled.ClassNames.Count, lr, o.LearningRate);
                    using (no_grad())
                    {
                        lossSum.add_(loss.detach().to(float64), one);
                        correct.add_(outputs.Logits.argmax(1).eq(batch.Labels).sum(), one);
                    }
                    seen += plan[b].shape[0];
                    if (progress is not null && watch.Elapsed - lastReport >= ProgressInterval)
                    {
                        lastReport = watch.Elapsed;
                        var running = lossSum.item<double>() / (b + 1);
                        progress.Report(new TrainingProgress(epoch + 1, o.Epochs, b + 1, batches, running, watch.Elapsed,
                            Remaining(watch.Elapsed, seen, toSee)));
                    }
                }
            }
            finally
            {
                foreach (var index in plan) index.Dispose();
            }
            var trainLoss = lossSum.item<double>() / batches;
            Divergence.EpochEnd(trainLoss, epoch, (long)(epoch + 1) * batches - 1, labelled.ClassNames.Count, lr, o.LearningRate);
            var trainAccuracy = (double)correct.item<long>() / labelled.Count;
            double? valLoss = null, valAccuracy = null;
            if (validation is { Count: > 0 })
            {
                model.eval();
                validationLogits = Validation.Logits(model, trainingDescription, validation);
                var report = ClassificationMetrics.Evaluate(validationLogits, validation.Labels, validation.ClassNames);
                (valLoss, valAccuracy) = (report.Nll, report.Accuracy);
            }
            NativeHeap.Trim();
            var record = new EpochRecord(epoch + 1, trainLoss, trainAccuracy, valLoss, valAccuracy, lr, epochWatch.Elapsed.TotalSeconds, PeakMemoryMb());
            history.Add(record);
            foreach (var stage in stages) stage.AfterEpoch(context, record);
            if (!ReferenceEquals(context.Model, model))
                throw new InvalidOperationException("a stage replaced the model after an epoch; only BeforeTraining and AfterTraining may");
            checkpoint?.Save(new Checkpoint.State(epoch + 1, o, normalization, history), model, optimizer);
            progress?.Report(new TrainingProgress(epoch + 1, o.Epochs, batches, batches, trainLoss, watch.Elapsed,
                Remaining(watch.Elapsed, seen, toSee), record));
        }
        var trainSeconds = watch.Elapsed.TotalSeconds;

        model.eval();
        foreach (var stage in stages) stage.AfterTraining(context);
        var final = context.Model;
        final.eval();
        // The last validation pass already scored the final model, unless a stage replaced it (NCM's head),
        // put back an earlier epoch's weights or re-estimated the BatchNorm statistics.
        var finalValidationLogits = ReferenceEquals(final, model) && keeper is not { Restored: true } && recalibration is not { Ran: true }
            ? validationLogits : null;
        return new TrainingResult(new ModelBundle(description with { Head = final.Head.Kind }, final), history, trainSeconds,
            seen / Math.Max(trainSeconds, 1e-9), finalValidationLogits)
        {
            KeptEpoch = keeper?.KeptEpoch ?? history.LastOrDefault()?.Epoch,
            KeptBy = keeper?.KeptEpoch is not null ? "best validation accuracy" : "last epoch",
            BatchNormRecalibrated = recalibration is { Ran: true },
        };
    }

    internal static void Validate(TrainOptions o, Dataset train)
    {
        if (o.Epochs < 1) throw new ProteaException($"the number of epochs must be at least 1, not {o.Epochs}", "epochs");
        if (o.BatchSize < 2) throw new ProteaException($"batch size {o.BatchSize} is too small: BatchNorm needs at least 2 examples per batch", "batch_size");
        if (o.LearningRate <= 0 || !double.IsFinite(o.LearningRate)) throw new ProteaException($"learning rate {o.LearningRate} must be a positive number", "learning_rate");
        if (o.Keep is not ("best" or "last")) throw new ProteaException($"which weights to keep, '{o.Keep}', is not known; known: best, last", "keep");
        BatchNormRecalibration.Applies(o.BatchNormRecalibration, 0);
        FineTuning.Check(o);
        var labelled = train.Labels.Count(l => l >= 0);
        if (labelled < 2)
            throw new ProteaException($"{train.Source}: {labelled} labelled training example{(labelled == 1 ? "" : "s")}; training needs at least 2", "data");
        if (train.ClassNames.Count < 2)
            throw new ProteaException($"{train.Source}: a classifier needs at least 2 classes, found {train.ClassNames.Count}", "data");
    }

    /// <summary>Whether the loop keeps unlabelled items: an objective learns from them, the others leave them out, batches are random.</summary>
    internal static bool KeepsUnlabelled(IReadOnlyList<IObjective> objectives, IBatchSampler sampler) =>
        sampler is RandomBatchSampler
        && objectives.Any(x => x.Needs.HasFlag(ObjectiveNeeds.UnlabelledItems))
        && objectives.All(x => (x.Needs & (ObjectiveNeeds.UnlabelledItems | ObjectiveNeeds.LeavesOutUnlabelled)) != 0);

    internal static Dataset LabelledOnly(Dataset data) =>
        data.Subset(Enumerable.Range(0, data.Count).Where(i => data.Labels[i] >= 0).Select(i => (long)i).ToArray());

    /// <summary>A new network from the options, with normalisation fitted to the training data.</summary>
    internal static (Classifier, ModelDescription) Fresh(TrainOptions o, Dataset labelled, InputNormalization? given = null)
    {
        var normalization = given ?? InputNormalization.Fit(labelled);
        if (o.Init is not null && o.Width != 1)
            throw new ProteaException($"pretrained weights ({o.Init}) have the published widths; they cannot start a backbone of width {o.Width}", "width");
        var backbone = Architectures.CreateBackbone(o.Architecture, labelled.Kind, labelled.ExampleShape, o.Stem, width: o.Width);
        if (o.Init is not null)
            PretrainedWeights.LoadInto(o.Architecture, backbone, o.Init);
        var model = new Classifier(backbone, Architectures.CreateHead(o.Head, o.Architecture, backbone, labelled.ClassNames.Count,
            Registry.Heads.Get(o.Head).Configure?.Invoke(o)));
        var description = new ModelDescription
        {
            Architecture = o.Architecture,
            Head = o.Head,
            Stem = Registry.Backbones.Get(o.Architecture).ResolveStem(o.Stem),
            Width = o.Width == 1 ? null : o.Width,
            InputKind = labelled.Kind,
            InputShape = labelled.ExampleShape,
            ClassNames = labelled.ClassNames.ToArray(),
            Normalization = normalization,
            Recipe = Recipe(o),
        };
        return (model, description);
    }

    /// <summary>A copy of a saved model, its normalisation kept; the data must have its inputs and classes.</summary>
    private static (Classifier, ModelDescription) FromBundle(ModelBundle bundle, Dataset labelled, TrainOptions o)
    {
        var d = bundle.Description;
        if (o.Init is not null)
            throw new ProteaException($"pretrained weights ({o.Init}) cannot be loaded into a model that training continues from", "init");
        if (labelled.Kind != d.InputKind || !labelled.ExampleShape.SequenceEqual(d.InputShape))
            throw new ProteaException($"{labelled.Source}: the data has {Describe(labelled.Kind, labelled.ExampleShape)} inputs, the starting model takes {Describe(d.InputKind, d.InputShape)}", "data");
        if (!labelled.ClassNames.SequenceEqual(d.ClassNames))
            throw new ProteaException($"{labelled.Source}: the data's classes ({string.Join(", ", labelled.ClassNames)}) are not the starting model's ({string.Join(", ", d.ClassNames)})", "data");
        var model = Architectures.Create(d);
        ModelBundle.LoadInto(model, bundle.Model.state_dict(), "the starting model");
        var description = d with
        {
            Recipe = Recipe(o with { Architecture = d.Architecture, Head = d.Head, Stem = d.Stem, Width = d.Width ?? 1 }),
            Metrics = new Dictionary<string, double>(),
        };
        return (model, description);
    }

    private static string Describe(InputKind kind, long[] shape) => $"{kind.ToString().ToLowerInvariant()} [{string.Join(", ", shape)}]";

    /// <summary>The options as model.json's recipe record, with the fine-tuning backbone scale as it was applied.</summary>
    private static System.Text.Json.Nodes.JsonObject Recipe(TrainOptions o) =>
        System.Text.Json.JsonSerializer.SerializeToNode(o with { BackboneLearningRateScale = FineTuning.BackboneScale(o) }, IO.ProteaJson.Options)!.AsObject();

    internal static IOptimizer CreateOptimizer(TrainOptions o, IReadOnlyList<OptimizerGroup> groups) => o.Optimizer switch
    {
        "sgd" => new Sgd(groups, o.Nesterov && o.Momentum > 0),
        "adamw" => new Optimizers.AdamW(groups),
        _ => throw new ProteaException($"optimizer '{o.Optimizer}' is not known; known: sgd, adamw", "optimizer"),
    };

    /// <summary>
    /// BatchNorm layers whose parameters are all frozen run in eval mode: their running statistics
    /// are part of the frozen state and would otherwise drift with every training batch.
    /// </summary>
    private static void KeepFrozenStatistics(Classifier model)
    {
        foreach (var (_, module) in model.named_modules())
            if (module is TorchSharp.Modules.BatchNorm norm && norm.parameters(recurse: false).ToList() is { Count: > 0 } own && own.All(p => !p.requires_grad))
                norm.eval();
    }

    /// <summary>
    /// Augments and normalises a batch's raw inputs (gathered by the <see cref="BatchSource"/>), then mixes it (mixup/CutMix) when enabled. When an
    /// objective asks for a second view, both views are independent draws of <paramref name="views"/>
    /// from the same raw examples, and the second is not mixed.
    /// </summary>
    private static TrainingBatch MakeBatch(Tensor raw, Tensor labels, Tensor index, InputNormalization normalization,
        BatchAugmenter augmenter, TwoViewAugmenter? views, MixAugment mix, Random random, Generator generator)
    {
        var x = views is not null ? views.View(raw, normalization, generator)
            : normalization.Apply(augmenter.IsIdentity ? raw : augmenter.Apply(raw, generator));
        var y = labels.index_select(0, index);
        Mixing? mixing = null;
        if (mix.Enabled)
        {
            var mixed = mix.Apply(x, random, generator);
            (x, mixing) = (mixed.Inputs, new Mixing(mixed.Permutation, mixed.Lambda));
        }
        var secondView = views?.View(raw, normalization, generator);
        return new TrainingBatch(x, y, mixing, secondView);
    }

    private static ModelOutputs Forward(Classifier model, TrainingBatch batch, ObjectiveNeeds needs)
    {
        var outputs = Forward(model, batch.Inputs, needs);
        return batch.SecondView is { } view ? outputs with { SecondView = Forward(model, view, needs) } : outputs;
    }

    private static ModelOutputs Forward(Classifier model, Tensor x, ObjectiveNeeds needs)
    {
        // A head that reads the feature map hands the objectives the very map it saw (one backbone pass).
        if (needs.HasFlag(ObjectiveNeeds.FeatureMap) && !needs.HasFlag(ObjectiveNeeds.Embedding) && model.Head.Consumes == Consumes.FeatureMap)
        {
            var map = model.Backbone.FeatureMap(x);
            return new ModelOutputs(model, model.Head.forward(map), FeatureMap: map);
        }
        Tensor logits;
        Tensor? embedding = null;
        if (needs.HasFlag(ObjectiveNeeds.Embedding))
            (logits, embedding) = model.ForwardBoth(x);
        else
            logits = model.forward(x);
        // A second backbone pass for now: Classifier does not yet hand its feature map on.
        var featureMap = needs.HasFlag(ObjectiveNeeds.FeatureMap) ? model.Backbone.FeatureMap(x) : null;
        return new ModelOutputs(model, logits, embedding, featureMap);
    }

    /// <summary>Each epoch's shuffling and augmentation come from (seed, epoch) alone, which is what makes resume exact.</summary>
    private static int EpochSeed(int seed, int epoch) => unchecked(seed * 1_000_003 + epoch * 7919 + 1) & int.MaxValue;

    private static double PeakMemoryMb()
    {
        using var self = Process.GetCurrentProcess();
        return self.PeakWorkingSet64 / (1024.0 * 1024.0);
    }

    private static TimeSpan? Remaining(TimeSpan elapsed, long done, long total) =>
        done == 0 ? null : TimeSpan.FromSeconds(elapsed.TotalSeconds / done * Math.Max(0, total - done));
}

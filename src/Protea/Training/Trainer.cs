using System.Diagnostics;
using Protea.Data;
using Protea.Deploy;
using Protea.Evaluation;
using Protea.Models;
using Protea.Training.Optimizers;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Protea.Training;

/// <summary>
/// Trains a backbone + head on a preloaded dataset: data, model, optimiser, loop, validate, checkpoint.
/// Each batch is gathered from the uint8 tensor, augmented and normalised with whole-tensor ops inside
/// its own DisposeScope; the loss is accumulated on-tensor, so no step waits on a host read.
/// </summary>
public sealed class Trainer(TrainOptions options, IProgress<TrainingProgress>? progress = null)
{
    private const int EvalBatchSize = 1000;
    private static readonly TimeSpan ProgressInterval = TimeSpan.FromMilliseconds(500);

    public TrainOptions Options { get; } = options;

    /// <param name="train">Labelled training examples (unlabelled ones are ignored).</param>
    /// <param name="validation">Held-out examples evaluated after each epoch, or null.</param>
    /// <param name="runDir">Where checkpoints go (runDir/checkpoint), or null for none.</param>
    /// <param name="resume">Continue from runDir's checkpoint when there is one.</param>
    public TrainingResult Train(Dataset train, Dataset? validation, string? runDir = null, bool resume = false, CancellationToken cancellation = default)
    {
        var o = Options;
        Validate(o, train);
        torch.set_num_threads(o.Threads);
        torch.manual_seed(o.Seed);

        using var labelled = LabelledOnly(train);
        var normalization = InputNormalization.Fit(labelled.Inputs);
        var backbone = Architectures.CreateBackbone(o.Architecture, labelled.Kind, labelled.ExampleShape, o.Stem);
        if (o.Init is not null)
            PretrainedWeights.LoadInto(o.Architecture, backbone, o.Init);
        // A head fitted from embeddings (NCM) is fitted after training; the backbone learns with the head its spec trains as.
        var headSpec = Registry.Heads.Get(o.Head);
        var trainingHeadKind = headSpec.TrainsAs ?? o.Head;
        var model = new Classifier(backbone, Architectures.CreateHead(trainingHeadKind, o.Architecture, backbone, labelled.ClassNames.Count));
        using var optimizer = CreateOptimizer(o, model.named_parameters().Select(p => (p.name, p.parameter)).ToList());

        var n = labelled.Count;
        var batches = n / o.BatchSize;
        var schedule = new LearningRateSchedule(o.Schedule, o.LearningRate, (long)batches * o.Epochs);
        var augmenter = new BatchAugmenter(o.Flip && labelled.Kind == InputKind.Image, labelled.Kind == InputKind.Image ? o.CropPadding : 0);
        var mix = new MixAugment(labelled.Kind == InputKind.Image ? o.MixupAlpha : 0, labelled.Kind == InputKind.Image ? o.CutMixAlpha : 0);

        var description = new ModelDescription
        {
            Architecture = o.Architecture,
            Head = o.Head,
            Stem = Registry.Backbones.Get(o.Architecture).ResolveStem(o.Stem),
            InputKind = labelled.Kind,
            InputShape = labelled.ExampleShape,
            ClassNames = labelled.ClassNames.ToArray(),
            Normalization = normalization,
            Recipe = System.Text.Json.JsonSerializer.SerializeToNode(o, IO.ProteaJson.Options)!.AsObject(),
        };
        // The network as it trains (NCM trains with its cosine stand-in), for the validation engine.
        var trainingDescription = description with { Head = trainingHeadKind };

        var checkpoint = runDir is null ? null : new Checkpoint(runDir);
        var history = new List<EpochRecord>();
        var startEpoch = 0;
        if (resume && checkpoint is { Exists: true })
        {
            var state = checkpoint.Load(o, model, optimizer);
            history.AddRange(state.History);
            startEpoch = state.CompletedEpochs;
        }

        using var labels = tensor(labelled.Labels);
        // Held for the whole run: TorchSharp frees a temporary Scalar whenever the GC finalises it (see IOptimizer).
        using var one = 1.ToScalar();
        var watch = Stopwatch.StartNew();
        long seen = 0;
        float[]? validationLogits = null;
        for (var epoch = startEpoch; epoch < o.Epochs; epoch++)
        {
            cancellation.ThrowIfCancellationRequested();
            var epochWatch = Stopwatch.StartNew();
            model.train();
            using var generator = new Generator((ulong)EpochSeed(o.Seed, epoch));
            var random = new Random(EpochSeed(o.Seed, epoch));
            using var perm = randperm(n, generator: generator);
            using var lossSum = zeros(1, dtype: float64);
            using var correct = zeros(1, dtype: int64);
            var lastReport = TimeSpan.Zero;
            double lr = 0;
            for (var b = 0; b < batches; b++)
            {
                using var scope = NewDisposeScope();
                var step = (long)epoch * batches + b;
                lr = schedule.LearningRate(step);
                var index = perm.narrow(0, (long)b * o.BatchSize, o.BatchSize);
                var raw = labelled.Inputs.index_select(0, index);
                if (!augmenter.IsIdentity) raw = augmenter.Apply(raw, generator);
                var x = normalization.Apply(raw);
                var y = labels.index_select(0, index);
                Tensor loss, logits;
                if (mix.Enabled)
                {
                    var mixed = mix.Apply(x, random, generator);
                    logits = model.forward(mixed.Inputs);
                    using var keep = mixed.Lambda.ToScalar();
                    using var take = (1 - mixed.Lambda).ToScalar();
                    loss = nn.functional.cross_entropy(logits, y, label_smoothing: o.LabelSmoothing).mul(keep)
                        .add_(nn.functional.cross_entropy(logits, y.index_select(0, mixed.Permutation), label_smoothing: o.LabelSmoothing).mul(take));
                }
                else
                {
                    logits = model.forward(x);
                    loss = nn.functional.cross_entropy(logits, y, label_smoothing: o.LabelSmoothing);
                }
                optimizer.ZeroGrad();
                loss.backward();
                optimizer.Step(lr, schedule.CyclesMomentum ? schedule.Momentum(step) : o.Momentum);
                using (no_grad())
                {
                    lossSum.add_(loss.detach().to(float64), one);
                    correct.add_(logits.argmax(1).eq(y).sum(), one);
                }
                seen += o.BatchSize;
                if (progress is not null && watch.Elapsed - lastReport >= ProgressInterval)
                {
                    lastReport = watch.Elapsed;
                    var running = lossSum.item<double>() / (b + 1);
                    ThrowIfDiverged(running, epoch);
                    progress.Report(new TrainingProgress(epoch + 1, o.Epochs, b + 1, batches, running, watch.Elapsed,
                        Remaining(watch.Elapsed, seen, (long)(o.Epochs - startEpoch) * batches * o.BatchSize)));
                }
            }
            var trainLoss = lossSum.item<double>() / Math.Max(1, batches);
            ThrowIfDiverged(trainLoss, epoch);
            var trainAccuracy = (double)correct.item<long>() / Math.Max(1, batches * o.BatchSize);
            double? valLoss = null, valAccuracy = null;
            if (validation is { Count: > 0 })
            {
                validationLogits = ValidationLogits(model, trainingDescription, validation, o.Threads);
                var report = ClassificationMetrics.Evaluate(validationLogits, validation.Labels, validation.ClassNames);
                (valLoss, valAccuracy) = (report.Nll, report.Accuracy);
            }
            NativeHeap.Trim();
            var record = new EpochRecord(epoch + 1, trainLoss, trainAccuracy, valLoss, valAccuracy, lr, epochWatch.Elapsed.TotalSeconds, PeakMemoryMb());
            history.Add(record);
            checkpoint?.Save(new Checkpoint.State(epoch + 1, o, normalization, history), model, optimizer);
            progress?.Report(new TrainingProgress(epoch + 1, o.Epochs, batches, batches, trainLoss, watch.Elapsed,
                Remaining(watch.Elapsed, seen, (long)(o.Epochs - startEpoch) * batches * o.BatchSize), record));
        }
        var trainSeconds = watch.Elapsed.TotalSeconds;

        model.eval();
        Classifier final = model;
        if (headSpec.Training == HeadTraining.FittedFromEmbeddings)
        {
            var fitted = Architectures.CreateHead(o.Head, o.Architecture, backbone, labelled.ClassNames.Count);
            using (var embeddings = ClassifierInference.Embeddings(model, normalization, labelled.Inputs, EvalBatchSize))
                ((IFittedHead)fitted).Fit(embeddings, labelled.Labels);
            final = new Classifier(backbone, fitted);
            final.eval();
        }
        // The last validation pass already scored the final model, unless NCM replaced its head.
        var finalValidationLogits = headSpec.Training == HeadTraining.FittedFromEmbeddings ? null : validationLogits;
        return new TrainingResult(new ModelBundle(description, final), history, trainSeconds, seen / Math.Max(trainSeconds, 1e-9), finalValidationLogits);
    }

    private static void Validate(TrainOptions o, Dataset train)
    {
        if (o.Epochs < 1) throw new ProteaException("--epochs must be at least 1");
        if (o.BatchSize < 2) throw new ProteaException("--batch-size must be at least 2 (BatchNorm needs more than one example)");
        if (o.Threads < 1) throw new ProteaException("--threads must be at least 1");
        if (o.LearningRate <= 0 || !double.IsFinite(o.LearningRate)) throw new ProteaException("--lr must be a positive number");
        var labelled = train.Labels.Count(l => l >= 0);
        if (labelled < o.BatchSize)
            throw new ProteaException($"{train.Source}: {labelled} labelled training examples, fewer than one batch of {o.BatchSize}; add data or lower --batch-size");
        if (train.ClassNames.Count < 2)
            throw new ProteaException($"{train.Source}: a classifier needs at least 2 classes, found {train.ClassNames.Count}");
    }

    private static Dataset LabelledOnly(Dataset data) =>
        data.Subset(Enumerable.Range(0, data.Count).Where(i => data.Labels[i] >= 0).Select(i => (long)i).ToArray());

    private static IOptimizer CreateOptimizer(TrainOptions o, IReadOnlyList<(string, Parameter)> parameters) => o.Optimizer switch
    {
        "sgd" => new Sgd(parameters, o.WeightDecay, o.Nesterov && o.Momentum > 0),
        "adamw" => new Optimizers.AdamW(parameters, o.WeightDecay),
        _ => throw new ProteaException($"--optimizer: unknown optimizer '{o.Optimizer}'; choose sgd or adamw"),
    };

    /// <summary>Each epoch's shuffling and augmentation come from (seed, epoch) alone, which is what makes resume exact.</summary>
    private static int EpochSeed(int seed, int epoch) => unchecked(seed * 1_000_003 + epoch * 7919 + 1) & int.MaxValue;

    private static double PeakMemoryMb()
    {
        using var self = Process.GetCurrentProcess();
        return self.PeakWorkingSet64 / (1024.0 * 1024.0);
    }

    private static TimeSpan? Remaining(TimeSpan elapsed, long done, long total) =>
        done == 0 ? null : TimeSpan.FromSeconds(elapsed.TotalSeconds / done * Math.Max(0, total - done));

    private static void ThrowIfDiverged(double loss, int epoch)
    {
        if (!double.IsFinite(loss))
            throw new ProteaException($"training diverged in epoch {epoch + 1}: the loss is {loss}; lower --lr or check the input data for extreme values");
    }

    /// <summary>
    /// Scores validation data with ONNX Runtime over an in-memory export of the current weights: it
    /// runs the graph several times faster than TorchSharp at inference, and it is the engine the
    /// saved model is deployed with. TorchSharp for an architecture or head with no export.
    /// </summary>
    private static float[] ValidationLogits(Classifier model, ModelDescription description, Dataset data, int threads)
    {
        model.eval();
        if (!OnnxExporter.CanExport(description))
            return ClassifierInference.Logits(model, description.Normalization, data.Inputs, EvalBatchSize);
        // Not disposed: a bundle owns its model, and this one is the live network.
        var live = new ModelBundle(description, model);
        using var engine = OnnxEngine.FromModel(live, threads);
        return InferenceEngines.RunAll(engine, data, EvalBatchSize).Logits;
    }
}

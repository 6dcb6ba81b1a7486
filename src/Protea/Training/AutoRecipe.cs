using Protea.Data;
using Protea.Training.Sampling;

namespace Protea.Training;

/// <summary>
/// The "auto" recipe: epochs, batch size, peak learning rate, warm-up and weight decay chosen from the
/// size of the data and the network, for data the measured recipes (<see cref="Recipes"/>) do not name.
/// A pure function of its inputs, so a run (and its resume) chooses the same values every time.
/// </summary>
/// <remarks>
/// The rule, aimed at enough optimiser steps and no divergence on small data:
/// batch size = n/8 rounded down to a power of two, within [16, 128] (64 for inputs above 3x64x64) and
/// never above n; epochs = enough for 100 steps per class, within [500, 2000] steps, at least 4 and at
/// most 300 epochs; peak learning rate = 0.1 x batch/128 (the quick recipe's, scaled linearly with
/// the batch, Goyal et al. 2017), for the new head when fine-tuning pretrained weights, whose backbone
/// trains at a tenth of it (<see cref="FineTuning"/>); OneCycle
/// warm-up over 50 % of the steps below 1,000 items, 40 % below 10,000, else PyTorch's 30 %; weight
/// decay 5e-4 (1e-4 when fine-tuning). SGD with Nesterov momentum, no flips or crops; BatchNorm
/// statistics re-estimated after training when the run is short ("auto",
/// <see cref="Stages.BatchNormRecalibration"/>).
/// </remarks>
public static class AutoRecipe
{
    public sealed record Inputs(int Items, int Classes, IReadOnlyList<long> ExampleShape, InputKind Kind, string Architecture, bool Pretrained = false);

    public const int MinBatch = 16, MaxBatch = 128, MaxBatchLargeInputs = 64, MinEpochs = 4, MaxEpochs = 300;
    public const int MinSteps = 500, MaxSteps = 2000, StepsPerClass = 100;
    public const double ReferenceLearningRate = 0.1, ReferenceBatch = 128;

    /// <summary>The recipe for these data; fields the rule does not choose keep <paramref name="baseline"/>'s values.</summary>
    public static TrainOptions Choose(Inputs data, TrainOptions? baseline = null)
    {
        if (data.Items < 2) throw new ProteaException($"{data.Items} training examples; training needs at least 2", "data");
        var elements = data.ExampleShape.Aggregate(1L, (a, b) => a * b);
        var cap = elements > 3 * 64 * 64 ? MaxBatchLargeInputs : MaxBatch;
        var batch = Math.Clamp(FloorPowerOfTwo(data.Items / 8), MinBatch, cap);
        batch = Math.Max(2, Math.Min(batch, FloorPowerOfTwo(data.Items)));
        var stepsPerEpoch = RandomBatchSampler.Sizes(data.Items, batch).Count;
        var targetSteps = Math.Clamp(StepsPerClass * data.Classes, MinSteps, MaxSteps);
        var epochs = Math.Clamp((targetSteps + stepsPerEpoch - 1) / stepsPerEpoch, MinEpochs, MaxEpochs);
        var lr = ReferenceLearningRate * batch / ReferenceBatch;
        var warmup = data.Items < 1_000 ? 0.5 : data.Items < 10_000 ? 0.4 : 0.3;
        return (baseline ?? new TrainOptions()) with
        {
            Architecture = data.Architecture,
            Epochs = epochs,
            BatchSize = batch,
            Optimizer = "sgd",
            LearningRate = lr,
            Momentum = 0.9,
            Nesterov = true,
            Schedule = "onecycle",
            Warmup = warmup,
            WeightDecay = data.Pretrained ? 1e-4 : 5e-4,
            Flip = false,
            CropPadding = 0,
            BatchNormRecalibration = "auto",
        };
    }

    /// <summary>One plain line: what the rule chose and why, for the start of a run.</summary>
    public static string Describe(TrainOptions o, int items) =>
        $"recipe auto for {items:N0} training examples: {o.Epochs} epochs, batch {o.BatchSize} " +
        $"({(long)RandomBatchSampler.Sizes(items, o.BatchSize).Count * o.Epochs:N0} steps), peak lr {o.LearningRate:G4}, " +
        $"warm-up {o.Warmup ?? LearningRateSchedule.DefaultWarmup:P0}, weight decay {o.WeightDecay:G3}" +
        (FineTuning.BackboneScale(o) is { } scale ? $", backbone lr {scale:G3} x the head's" : "");

    private static int FloorPowerOfTwo(int v) => v < 1 ? 1 : 1 << (31 - System.Numerics.BitOperations.LeadingZeroCount((uint)v));
}

using Protea.Data;
using Protea.Models;
using TorchSharp;
using static TorchSharp.torch;

namespace Protea.Training.Stages;

/// <summary>
/// Re-estimates every trained BatchNorm layer's running mean and variance on the training data after
/// training, as torch.optim.swa_utils.update_bn does: the statistics are reset and replaced by the
/// plain average over one pass of batches (momentum None: batch k weighs 1/k), the inputs normalised
/// and not augmented, in order. After few optimiser steps the running statistics (an exponential
/// average with momentum 0.1 over the last batches, each from slightly different weights) do not match
/// the final weights; a pass at the end makes them the final network's.
/// </summary>
/// <remarks>
/// Layers whose parameters are all frozen keep their statistics, as during training. Only the
/// BatchNorm layers run in training mode for the pass (dropout and the rest stay in eval mode); no
/// gradient is computed. The batches are the training epoch's sizes in order (a remainder under half a
/// batch joins the last batch, so no batch holds a single example). When to run it is <see cref="Applies"/>'s rule.
/// </remarks>
public sealed class BatchNormRecalibration(int batchSize) : IStage
{
    /// <summary>"auto" recalibrates a run of at most this many optimiser steps.</summary>
    public const long AutoMaxSteps = 2_000;

    public static readonly IReadOnlyList<string> Modes = ["auto", "on", "off"];

    /// <summary>Whether a run with this setting and this many optimiser steps recalibrates (and refuses an unknown setting).</summary>
    public static bool Applies(string mode, long steps) => mode switch
    {
        "on" => true,
        "off" => false,
        "auto" => steps <= AutoMaxSteps,
        _ => throw new ProteaException($"BatchNorm recalibration '{mode}' is not known; known: {string.Join(", ", Modes)}", "batch_norm_recalibration"),
    };

    /// <summary>Whether the last <see cref="AfterTraining"/> changed any statistics.</summary>
    public bool Ran { get; private set; }

    public void AfterTraining(StageContext context) =>
        Ran = Recalibrate(context.Model, context.Normalization, context.Train, batchSize) > 0;

    /// <summary>Recalibrates <paramref name="model"/> in place on raw inputs; returns the number of layers reset.</summary>
    public static int Recalibrate(Classifier model, InputNormalization normalization, Tensor inputs, int batchSize) =>
        Recalibrate(model, normalization, (int)inputs.shape[0], (start, size) => inputs.narrow(0, start, size), batchSize);

    /// <summary>As <see cref="Recalibrate(Classifier, InputNormalization, Tensor, int)"/> over a data set held in memory or streamed (a batch read at a time).</summary>
    public static int Recalibrate(Classifier model, InputNormalization normalization, Data.Dataset data, int batchSize) =>
        data.IsStreamed ? Recalibrate(model, normalization, data.Count, data.Slice, batchSize) : Recalibrate(model, normalization, data.Inputs, batchSize);

    private static int Recalibrate(Classifier model, InputNormalization normalization, int count, Func<long, long, Tensor> rows, int batchSize)
    {
        var norms = model.named_modules().Select(m => m.module).OfType<TorchSharp.Modules.BatchNorm>()
            .Where(norm => norm.parameters(recurse: false).Any(p => p.requires_grad)).ToList();
        if (norms.Count == 0) return 0;
        var momenta = norms.Select(norm => norm.momentum).ToList();
        model.eval();
        try
        {
            foreach (var norm in norms)
            {
                norm.reset_running_stats();
                norm.momentum = null;
                norm.train();
            }
            using var _ = no_grad();
            long start = 0;
            foreach (var size in Sampling.RandomBatchSampler.Sizes(count, batchSize))
            {
                using var scope = NewDisposeScope();
                model.forward(normalization.Apply(rows(start, size)));
                start += size;
            }
        }
        finally
        {
            for (var i = 0; i < norms.Count; i++) norms[i].momentum = momenta[i];
            model.eval();
        }
        return norms.Count;
    }
}

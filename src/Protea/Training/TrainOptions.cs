namespace Protea.Training;

/// <summary>
/// Everything that defines a training run, with defaults that work. Written into model.json and the
/// checkpoint, so a run can be repeated (or resumed) exactly.
/// </summary>
public sealed record TrainOptions
{
    public string Architecture { get; init; } = "cnn";
    public string Head { get; init; } = "linear";
    public string? Stem { get; init; }

    /// <summary>The backbone's channel multiplier (0.5: half as wide, for a distilled student); 1: the published widths.</summary>
    public double Width { get; init; } = 1;

    /// <summary>A torchvision-format resnet18 state dict (safetensors) to fine-tune from.</summary>
    public string? Init { get; init; }

    public int Epochs { get; init; } = 4;
    public int BatchSize { get; init; } = 128;

    /// <summary>"sgd" (momentum, optionally Nesterov) or "adamw".</summary>
    public string Optimizer { get; init; } = "sgd";
    public double LearningRate { get; init; } = 0.1;
    public double Momentum { get; init; } = 0.9;
    public bool Nesterov { get; init; } = true;
    public double WeightDecay { get; init; } = 5e-4;

    /// <summary>"onecycle", "cosine" or "constant".</summary>
    public string Schedule { get; init; } = "onecycle";

    /// <summary>OneCycle's warm-up: the fraction of the steps over which the learning rate rises; null = 0.3 (PyTorch's).</summary>
    public double? Warmup { get; init; }

    public double LabelSmoothing { get; init; }

    /// <summary>
    /// The training loss as a list of terms (Objectives/ObjectiveList): "ce", "supcon", "simclr",
    /// "triplet", "triplet-semihard", "center", or a weighted sum such as "supcon+ce" or "supcon:1+ce:0.5".
    /// </summary>
    public string Objective { get; init; } = "ce";

    /// <summary>The contrastive terms' temperature; null: 0.1 for supcon, 0.5 for simclr.</summary>
    public double? Temperature { get; init; }

    /// <summary>The triplet terms' margin on squared distances of unit embeddings; null: 0.2 (FaceNet).</summary>
    public double? Margin { get; init; }

    /// <summary>"random" or "pk" (P classes x K items per batch); null: pk for triplet objectives, else random.</summary>
    public string? Sampler { get; init; }

    /// <summary>The pk sampler's P; null: from the batch size (Sampling/PkBatchSampler.Resolve).</summary>
    public int? ClassesPerBatch { get; init; }

    /// <summary>The pk sampler's K; null: from the batch size.</summary>
    public int? ItemsPerClass { get; init; }

    /// <summary>
    /// Random horizontal flips. Off unless asked for (the quick and full recipes, measured on
    /// Fashion-MNIST, turn them on): a flip changes the meaning of digits, text and anything with handedness.
    /// </summary>
    public bool Flip { get; init; }

    /// <summary>Random-crop padding in pixels (0 = no crop).</summary>
    public int CropPadding { get; init; }

    /// <summary>Beta(alpha, alpha) for mixup (Zhang et al. 2018); 0 = off.</summary>
    public double MixupAlpha { get; init; }

    /// <summary>Beta(alpha, alpha) for CutMix (Yun et al. 2019); 0 = off. With both on, each batch picks one.</summary>
    public double CutMixAlpha { get; init; }

    /// <summary>
    /// Fraction of the training data held out for per-epoch validation (0 = none). Null: none when the
    /// data has its own test set (which is then monitored each epoch), else 0.1.
    /// </summary>
    public double? ValidationFraction { get; init; }

    public const double DefaultValidationFraction = 0.1;

    /// <summary>Train on at most this many examples (a seeded random subset); null = all.</summary>
    public int? Limit { get; init; }

    /// <summary>The parts head's settings (prototypes, ProtoPNet's costs and stages); null: the defaults.</summary>
    public Protea.Prototypes.PartsOptions? Parts { get; init; }

    /// <summary>Keep the training split's embedding index with the model (train.index), for predictions explained by nearest training items.</summary>
    public bool KeepIndex { get; init; }

    /// <summary>
    /// Which weights a run with held-out validation data ends with: "best" (the epoch with the highest
    /// validation accuracy, ties to the lower validation loss; Stages/BestEpochKeeper) or "last".
    /// </summary>
    public string Keep { get; init; } = "best";

    /// <summary>
    /// Re-estimate BatchNorm statistics on the training data after training (Stages/BatchNormRecalibration):
    /// "on", "off", or "auto" (on for runs of at most 2,000 optimiser steps). Off unless asked for or
    /// chosen by the auto recipe.
    /// </summary>
    public string BatchNormRecalibration { get; init; } = "off";

    /// <summary>
    /// When fine-tuning pretrained weights (<see cref="Init"/>): the backbone's learning rate as a
    /// fraction of the new head's (<see cref="LearningRate"/>); null: 0.1 (FineTuning). Not used without Init.
    /// </summary>
    public double? BackboneLearningRateScale { get; init; }

    public int Seed { get; init; }
    public int Threads { get; init; } = 2;
}

using Protea.Data;
using Protea.Models;
using TorchSharp;
using static TorchSharp.torch;

namespace Protea.Training;

/// <summary>
/// The augmentation of the two views a contrastive objective compares, stronger than the run's
/// usual one. Images: random horizontal flip, random crop with zero padding (the run's crop padding,
/// at least an eighth of the image side), then Gaussian noise (standard deviation
/// <see cref="NoiseStd"/> in normalised units). Tables: SCARF corruption (<see cref="Scarf"/>) at
/// <see cref="CorruptionRate"/>. Every draw comes from the trainer's seeded generator.
/// </summary>
public sealed class TwoViewAugmenter
{
    public const double DefaultNoiseStd = 0.1;

    private readonly BatchAugmenter? geometric;

    public TwoViewAugmenter(InputKind kind, long[] exampleShape, int cropPadding = 0, double noiseStd = DefaultNoiseStd, double corruptionRate = Scarf.DefaultRate)
    {
        Kind = kind;
        NoiseStd = noiseStd >= 0 && double.IsFinite(noiseStd) ? noiseStd : throw new ProteaException($"noise standard deviation {noiseStd} must be a non-negative number", "noise_std");
        CorruptionRate = corruptionRate is >= 0 and <= 1 ? corruptionRate : throw new ProteaException($"corruption rate {corruptionRate} must be between 0 and 1", "corruption_rate");
        if (kind == InputKind.Image)
        {
            var side = exampleShape.Length >= 3 ? Math.Min(exampleShape[^1], exampleShape[^2]) : 8;
            geometric = new BatchAugmenter(flip: true, (int)Math.Max(cropPadding, Math.Max(1, side / 8)));
        }
    }

    public static TwoViewAugmenter For(TrainOptions options, Dataset data) => new(data.Kind, data.ExampleShape, options.CropPadding);

    public InputKind Kind { get; }

    public double NoiseStd { get; }

    public double CorruptionRate { get; }

    /// <summary>One view of a raw batch, normalised.</summary>
    public Tensor View(Tensor raw, InputNormalization normalization, Generator generator)
    {
        using var scope = NewDisposeScope();
        if (geometric is null)
            return Scarf.Corrupt(normalization.Apply(raw), CorruptionRate, generator).MoveToOuterDisposeScope();
        var x = normalization.Apply(geometric.Apply(raw, generator));
        if (NoiseStd > 0)
        {
            using var std = NoiseStd.ToScalar();
            x = x.add(randn(x.shape, generator: generator, device: x.device), std);
        }
        return x.MoveToOuterDisposeScope();
    }
}

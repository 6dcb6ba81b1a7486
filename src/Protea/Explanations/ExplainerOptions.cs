namespace Protea.Explanations;

/// <summary>What the methods can be tuned by; each reads only its own settings. Defaults follow the papers.</summary>
public sealed record ExplainerOptions
{
    /// <summary>Grad-CAM / Grad-CAM++: the layer whose activation is weighted (<see cref="ExplainedModel.Layers"/>); null: the last feature map.</summary>
    public string? Layer { get; init; }

    /// <summary>Integrated Gradients: Riemann steps along the path from the baseline.</summary>
    public int Steps { get; init; } = 32;

    /// <summary>Integrated Gradients: the image it starts from.</summary>
    public ImageBaseline Baseline { get; init; } = ImageBaseline.Black;

    /// <summary>SmoothGrad: noisy copies averaged per image.</summary>
    public int Samples { get; init; } = 25;

    /// <summary>SmoothGrad: noise standard deviation in pixel units (pixels span [0, 1]); Smilkov et al. suggest 10-20 % of the range.</summary>
    public double Sigma { get; init; } = 0.15;

    /// <summary>Seeds SmoothGrad's noise and the random baseline, so runs repeat.</summary>
    public int Seed { get; init; } = 0;

    public void Check()
    {
        if (Steps is < 1 or > 10_000)
            throw new ProteaException($"{Steps} integration steps is outside 1..10000", "ig_steps");
        if (Samples is < 1 or > 10_000)
            throw new ProteaException($"{Samples} noise samples is outside 1..10000", "samples");
        if (!(Sigma >= 0 && Sigma <= 10))
            throw new ProteaException($"noise level {Sigma} is outside 0..10 (pixels span 0..1)", "sigma");
    }
}

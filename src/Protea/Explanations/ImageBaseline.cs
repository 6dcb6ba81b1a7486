using static TorchSharp.torch;

namespace Protea.Explanations;

/// <summary>What "no information" looks like: the image Integrated Gradients starts from, and what deletion/insertion put in place of pixels.</summary>
public enum ImageBaseline
{
    /// <summary>All pixels 0.</summary>
    Black,

    /// <summary>The training mean of each channel (the normalised input's zero).</summary>
    Mean,

    /// <summary>The image itself, Gaussian-blurred (sigma = an eighth of its longer side): removes detail, keeps the colours.</summary>
    Blur,
}

/// <summary>Builds baseline images and parses their names.</summary>
public static class ImageBaselines
{
    public static IReadOnlyList<string> Names { get; } = ["black", "mean", "blur"];

    public static ImageBaseline Parse(string name, string field) => name.Trim().ToLowerInvariant() switch
    {
        "black" => ImageBaseline.Black,
        "mean" => ImageBaseline.Mean,
        "blur" => ImageBaseline.Blur,
        _ => throw new ProteaException($"baseline '{name}' is not known; known: {string.Join(", ", Names)}", field),
    };

    /// <summary>The baseline for each image of <paramref name="pixels"/> [N, C, H, W].</summary>
    public static Tensor For(ImageBaseline baseline, ExplainedModel model, Tensor pixels) => baseline switch
    {
        ImageBaseline.Black => zeros_like(pixels),
        ImageBaseline.Mean => model.MeanPixel.expand_as(pixels).contiguous(),
        _ => Blur(pixels, Math.Max(pixels.shape[2], pixels.shape[3]) / 8.0),
    };

    /// <summary>Separable Gaussian blur, edges replicated.</summary>
    public static Tensor Blur(Tensor pixels, double sigma)
    {
        using var scope = NewDisposeScope();
        var radius = (int)Math.Ceiling(3 * sigma);
        var weights = Enumerable.Range(-radius, 2 * radius + 1).Select(i => Math.Exp(-i * i / (2 * sigma * sigma))).ToArray();
        var total = weights.Sum();
        var kernel = tensor(weights.Select(w => (float)(w / total)).ToArray());
        var channels = pixels.shape[1];
        var horizontal = kernel.reshape(1, 1, 1, -1).expand(channels, 1, 1, -1).contiguous();
        var vertical = kernel.reshape(1, 1, -1, 1).expand(channels, 1, -1, 1).contiguous();
        var padded = nn.functional.pad(pixels, [radius, radius, radius, radius], TorchSharp.PaddingModes.Replicate);
        var x = nn.functional.conv2d(padded, horizontal, groups: channels);
        return nn.functional.conv2d(x, vertical, groups: channels).MoveToOuterDisposeScope();
    }
}

using Protea.Data;
using TorchSharp;
using static TorchSharp.torch;

namespace Protea.Mil;

/// <summary>
/// One image read once as uint8 [C, H, W] and the patches kept from it. Patches are views into the
/// image (<see cref="Patch"/> narrows it; nothing is copied) until a batch stacks a bounded number of
/// them for the encoder (<see cref="Stack"/>).
/// </summary>
public sealed class BagImage : IDisposable
{
    private BagImage(string name, Tensor pixels, IReadOnlyList<PatchBox> boxes)
    {
        Name = name;
        Pixels = pixels;
        Boxes = boxes;
    }

    public string Name { get; }

    /// <summary>The whole image, uint8 [C, H, W].</summary>
    public Tensor Pixels { get; }

    public int Width => (int)Pixels.shape[2];
    public int Height => (int)Pixels.shape[1];

    /// <summary>The kept patches, in grid order (background patches removed).</summary>
    public IReadOnlyList<PatchBox> Boxes { get; }

    public int Count => Boxes.Count;

    /// <summary>Decodes an image file at its own size and lays the grid over it.</summary>
    public static BagImage Read(string path, int channels, PatchGrid grid, BackgroundFilter? background)
    {
        var header = ImageDecoder.Probe(path)
            ?? throw new ProteaException(File.Exists(path) ? $"{path}: not a PNG or JPEG image (cannot decode)" : $"{path}: no such file");
        var pixels = ImageDecoder.Decode(path, channels, header.Height, header.Width);
        try
        {
            return FromPixels(path, pixels, grid, background);
        }
        catch
        {
            pixels.Dispose();
            throw;
        }
    }

    /// <summary>A bag over pixels already in memory (uint8 [C, H, W]); the bag owns them from here.</summary>
    public static BagImage FromPixels(string name, Tensor pixels, PatchGrid grid, BackgroundFilter? background)
    {
        if (pixels.dim() != 3 || pixels.dtype != ScalarType.Byte)
            throw new ArgumentException("pixels must be uint8 [C, H, W]", nameof(pixels));
        var boxes = grid.Boxes((int)pixels.shape[2], (int)pixels.shape[1], name);
        if (background is not null)
        {
            var means = MeanIntensities(pixels, boxes);
            boxes = boxes.Where((_, i) => !background.IsBackground(means[i])).ToList();
            if (boxes.Count == 0)
                throw new ProteaException($"{name}: every patch is background ({background}); the bag would be empty", "background");
        }
        return new BagImage(name, pixels, boxes);
    }

    /// <summary>Mean intensity (0..1) of each box, summed from an integral image so large images cost one pass.</summary>
    internal static double[] MeanIntensities(Tensor pixels, IReadOnlyList<PatchBox> boxes)
    {
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        long h = pixels.shape[1], w = pixels.shape[2], c = pixels.shape[0];
        var gray = pixels.to(float64).sum([0L]);
        var integral = nn.functional.pad(gray.cumsum(0).cumsum(1), [1, 0, 1, 0]).contiguous();
        var s = integral.data<double>().ToArray();
        var stride = w + 1;
        return boxes.Select(b =>
        {
            double total = s[(b.Y + b.Height) * stride + b.X + b.Width] - s[b.Y * stride + b.X + b.Width]
                - s[(b.Y + b.Height) * stride + b.X] + s[b.Y * stride + b.X];
            return total / (255.0 * c * b.Width * b.Height);
        }).ToArray();
    }

    /// <summary>Patch <paramref name="index"/> as a view of the image, uint8 [C, P, P].</summary>
    public Tensor Patch(int index)
    {
        var b = Boxes[index];
        return Pixels.narrow(1, b.Y, b.Height).narrow(2, b.X, b.Width);
    }

    /// <summary>Patches [start, start + count) stacked as uint8 [count, C, P, P]: the one copy, bounded by the caller's budget.</summary>
    public Tensor Stack(int start, int count)
    {
        using var scope = NewDisposeScope();
        var views = Enumerable.Range(start, count).Select(Patch).ToArray();
        return stack(views).MoveToOuterDisposeScope();
    }

    public void Dispose() => Pixels.Dispose();
}

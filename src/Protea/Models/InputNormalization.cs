using TorchSharp;
using static TorchSharp.torch;

namespace Protea.Models;

/// <summary>
/// The model's input transform: x = (raw * Scale - Mean[c]) / Std[c], per channel for images
/// (Scale = 1/255 on uint8 pixels) or per feature for tabular data (Scale = 1). Statistics come from
/// the training split only; they are stored in model.json and folded into exported graphs.
/// </summary>
public sealed record InputNormalization(double[] Mean, double[] Std, double Scale)
{
    /// <summary>Normalises a raw batch ([N, C, H, W] uint8 or [N, D] float) to float32.</summary>
    public Tensor Apply(Tensor raw)
    {
        using var scope = NewDisposeScope();
        var shape = raw.dim() == 4 ? new long[] { 1, Mean.Length, 1, 1 } : new long[] { 1, Mean.Length };
        var x = raw.to(float32);
        // (raw * s - m) / d == raw * (s / d) - m / d: one multiply-add per element.
        var mul = tensor(Std.Select(d => (float)(Scale / d)).ToArray()).reshape(shape);
        var add = tensor(Mean.Zip(Std, (m, d) => (float)(-m / d)).ToArray()).reshape(shape);
        using var one = 1.ToScalar(); // held: TorchSharp frees temporary Scalars when the GC finalises them
        return torch.addcmul(add, x, mul, one).MoveToOuterDisposeScope();
    }

    /// <summary>
    /// Per-channel (images [N, C, H, W], pixel scale 1/255) or per-feature (tabular [N, D]) population
    /// statistics, accumulated in float64 over chunks so a whole data set is never widened at once
    /// (60,000 Fashion-MNIST images as float64 would be 376 MB).
    /// </summary>
    public static InputNormalization Fit(Tensor inputs, long chunk = 4096) =>
        Fit(inputs.shape, (start, len) => inputs.narrow(0, start, len), chunk);

    /// <summary>As <see cref="Fit(Tensor, long)"/> over a data set held in memory or streamed: the same chunks, the same sums.</summary>
    public static InputNormalization Fit(Data.Dataset data, long chunk = 4096) =>
        data.IsStreamed ? Fit([data.Count, .. data.ExampleShape], data.Slice, chunk) : Fit(data.Inputs, chunk);

    private static InputNormalization Fit(long[] shape, Func<long, long, Tensor> rows, long chunk)
    {
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        var image = shape.Length == 4;
        var scale = image ? 1.0 / 255.0 : 1.0;
        var dims = image ? new long[] { 0, 2, 3 } : new long[] { 0 };
        var features = shape[1];
        var sum = zeros(features, dtype: float64);
        var sumSquares = zeros(features, dtype: float64);
        var n = shape[0];
        for (long start = 0; start < n; start += chunk)
        {
            using var inner = NewDisposeScope();
            var x = rows(start, Math.Min(chunk, n - start)).to(float64);
            sum.add_(x.sum(dims));
            sumSquares.add_(x.square().sum(dims));
        }
        // Held: a temporary Scalar may be finalised while the native division still reads it ("Unknown scalar type").
        using var count = ((double)n * (image ? shape[2] * shape[3] : 1)).ToScalar();
        using var meanTensor = sum.div(count);
        using var meanSquareTensor = sumSquares.div(count);
        var mean = meanTensor.data<double>().ToArray();
        var meanSquare = meanSquareTensor.data<double>().ToArray();
        var std = mean.Zip(meanSquare, (m, m2) => Math.Sqrt(Math.Max(0, m2 - m * m)))
            .Select(s => s * scale < 1e-8 ? 1.0 : s * scale).ToArray();
        return new InputNormalization(mean.Select(m => m * scale).ToArray(), std, scale);
    }
}

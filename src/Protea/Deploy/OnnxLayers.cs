using Protea.Models;
using TorchSharp.Modules;
using static TorchSharp.torch;
using Attr = Protea.Deploy.OnnxGraph.Attribute;

namespace Protea.Deploy;

/// <summary>
/// The ONNX patterns the built-in modules' Emit methods share: eval-mode BatchNorm folded into the
/// convolution or linear layer before it, pooling, ReLU and L2 normalisation. Constants are named after
/// the module's state-dict names, so a graph reads like the safetensors file.
/// </summary>
internal static class OnnxLayers
{
    /// <summary>torch.nn.functional.normalize's eps: z / max(||z||, eps).</summary>
    public const float NormalizeEps = 1e-12f;

    /// <summary>A bias-free convolution followed by eval-mode BatchNorm, as one Conv with folded weight and bias ("same" padding).</summary>
    public static string ConvBn(OnnxGraph g, Conv2d conv, BatchNorm2d bn, string name, string x, long stride)
    {
        var dims = conv.weight!.shape;
        var (weight, bias) = FoldBatchNorm(conv.weight, bn);
        var (kh, kw) = (dims[2], dims[3]);
        return g.Op("Conv", [x, g.Constant($"{name}.weight_folded", weight, dims), g.Constant($"{name}.bias_folded", bias, dims[0])],
        [
            Attr.Ints("kernel_shape", kh, kw),
            Attr.Ints("strides", stride, stride),
            Attr.Ints("pads", kh / 2, kw / 2, kh / 2, kw / 2),
        ]);
    }

    /// <summary>A bias-free linear layer followed by eval-mode BatchNorm1d, as one Gemm with folded weight and bias.</summary>
    public static string LinearBn(OnnxGraph g, Linear fc, BatchNorm1d bn, string name, string x)
    {
        var dims = fc.weight!.shape;
        var (weight, bias) = FoldBatchNorm(fc.weight, bn);
        return g.Op("Gemm", [x, g.Constant($"{name}.weight_folded", weight, dims), g.Constant($"{name}.bias_folded", bias, dims[0])],
            [Attr.Int("transB", 1)]);
    }

    public static string Relu(OnnxGraph g, string x, string? output = null) => g.Op("Relu", [x], output: output);

    public static string MaxPool(OnnxGraph g, string x, int kernel, int stride, int pad) => g.Op("MaxPool", [x],
        [Attr.Ints("kernel_shape", kernel, kernel), Attr.Ints("strides", stride, stride), Attr.Ints("pads", pad, pad, pad, pad)]);

    /// <summary>The mean over H and W, flattened to [N, C], as <see cref="Models.Backbone.Pool"/> computes it.</summary>
    public static string GlobalAveragePool(OnnxGraph g, string x, string? output = null) =>
        g.Op("Flatten", [g.Op("GlobalAveragePool", [x])], [Attr.Int("axis", 1)], output: output);

    /// <summary>z / max(||z||, eps) along axis 1, as torch.nn.functional.normalize.</summary>
    public static string L2Normalize(OnnxGraph g, string z)
    {
        var norm = g.Op("ReduceL2", [z], [Attr.Ints("axes", 1), Attr.Int("keepdims", 1)]);
        var safe = g.Op("Max", [norm, g.Constant("normalize_eps", [NormalizeEps], 1)]);
        return g.Op("Div", [z, safe]);
    }

    /// <summary>A tensor's values as floats, row-major.</summary>
    public static float[] Values(Tensor t)
    {
        using var c = t.detach().cpu().to(ScalarType.Float32).contiguous();
        return c.ToFloats();
    }

    /// <summary>Each row of a [rows, cols] matrix divided by max(its L2 norm, eps), in double precision.</summary>
    public static float[] NormalizeRows(float[] m, int rows, int cols)
    {
        var result = new float[m.Length];
        for (var r = 0; r < rows; r++)
        {
            double sq = 0;
            for (var j = 0; j < cols; j++) sq += (double)m[r * cols + j] * m[r * cols + j];
            var norm = Math.Max(Math.Sqrt(sq), NormalizeEps);
            for (var j = 0; j < cols; j++) result[r * cols + j] = (float)(m[r * cols + j] / norm);
        }
        return result;
    }

    /// <summary>
    /// W'[o] = W[o] * gamma[o] / sqrt(var[o] + eps), b'[o] = beta[o] - mean[o] * gamma[o] / sqrt(var[o] + eps),
    /// computed in double so folding adds no error beyond the final rounding to float.
    /// </summary>
    public static (float[] Weight, float[] Bias) FoldBatchNorm(Tensor weightTensor, BatchNorm bn)
    {
        var weight = Values(weightTensor);
        var gamma = Values(bn.weight!);
        var beta = Values(bn.bias!);
        var mean = Values(bn.running_mean!);
        var variance = Values(bn.running_var!);
        var e = bn.eps;
        var outputs = gamma.Length;
        var per = weight.Length / outputs;
        var folded = new float[weight.Length];
        var bias = new float[outputs];
        for (var o = 0; o < outputs; o++)
        {
            var s = gamma[o] / Math.Sqrt(variance[o] + e);
            for (var j = 0; j < per; j++) folded[o * per + j] = (float)(weight[o * per + j] * s);
            bias[o] = (float)(beta[o] - mean[o] * s);
        }
        return (folded, bias);
    }
}

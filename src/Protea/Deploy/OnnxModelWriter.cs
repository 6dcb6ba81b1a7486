using Protea.Data;
using Protea.Models;
using TorchSharp.Modules;
using static TorchSharp.torch;
using Attr = Protea.Deploy.OnnxGraph.Attribute;

namespace Protea.Deploy;

/// <summary>
/// Writes a <see cref="Classifier"/> as an ONNX graph, read off its PyTorch-style tensor names: input
/// normalisation as one Mul + Add, every BatchNorm folded into the convolution or linear layer before
/// it (eval mode), and the head's prototypes precomputed as constants. Outputs "logits" and
/// "embedding" (the backbone's output, as <see cref="Classifier.Embed"/> returns it).
/// </summary>
internal static class OnnxModelWriter
{
    public static readonly IReadOnlyList<string> ExportableArchitectures = ["cnn", "resnet18", "mlp"];
    public static readonly IReadOnlyList<string> ExportableHeads = ["linear", "cosine", "ncm"];

    /// <summary>torch.nn.functional.normalize's eps: z / max(||z||, eps).</summary>
    private const float NormalizeEps = 1e-12f;

    public static void EnsureSupported(ModelDescription d)
    {
        if (!ExportableArchitectures.Contains(d.Architecture))
            throw new ProteaException($"architecture '{d.Architecture}' has no ONNX export yet; use the torch engine (exportable: {string.Join(", ", ExportableArchitectures)})");
        if (!ExportableHeads.Contains(d.Head))
            throw new ProteaException($"head '{d.Head}' has no ONNX export yet; use the torch engine (exportable: {string.Join(", ", ExportableHeads)})");
    }

    public static OnnxGraph Build(ModelBundle bundle)
    {
        var d = bundle.Description;
        EnsureSupported(d);
        var w = new Weights(bundle.Model);
        var g = new OnnxGraph();
        var image = d.InputKind == InputKind.Image;
        var x = g.Input("input", ["batch", .. d.InputShape.Cast<object>()]);
        x = Normalize(g, d, x, image);
        var embedding = d.Architecture switch
        {
            "cnn" => ReferenceCnn(g, w, x),
            "resnet18" => ResNet18(g, w, x, Architectures.ParseStem(d.Stem)),
            _ => Mlp(g, w, x),
        };
        var dim = bundle.Model.Backbone.EmbeddingDim;
        switch (d.Head)
        {
            case "linear":
                g.Op("Gemm", [embedding, g.Constant("head.weight", w["head.weight"], w.Shape("head.weight")), g.Constant("head.bias", w["head.bias"], w.Shape("head.bias"))],
                    [Attr.Int("transB", 1)], output: "logits");
                break;
            case "cosine":
                CosineHead(g, w, embedding);
                break;
            default:
                NcmHead(g, w, embedding);
                break;
        }
        g.Output("logits", "batch", (long)d.NumClasses);
        g.Output("embedding", "batch", dim);
        return g;
    }

    /// <summary>(raw * scale - mean) / std as raw * (scale / std) + (-mean / std), the very constants InputNormalization.Apply uses.</summary>
    private static string Normalize(OnnxGraph g, ModelDescription d, string x, bool image)
    {
        var n = d.Normalization;
        var channels = d.InputShape[0];
        if (n.Mean.Length != channels || n.Std.Length != channels)
            throw new ProteaException($"model.json: normalization has {n.Mean.Length} means and {n.Std.Length} stds for {channels} input {(image ? "channels" : "features")}; retrain or fix the file");
        long[] shape = image ? [1, channels, 1, 1] : [1, channels];
        var mul = g.Constant("input_scale", n.Std.Select(s => (float)(n.Scale / s)).ToArray(), shape);
        var add = g.Constant("input_shift", n.Mean.Zip(n.Std, (m, s) => (float)(-m / s)).ToArray(), shape);
        return g.Op("Add", [g.Op("Mul", [x, mul]), add]);
    }

    private static string ReferenceCnn(OnnxGraph g, Weights w, string x)
    {
        string Block(int i, string input) => Relu(g, ConvBn(g, w, $"backbone.block{i}.conv", $"backbone.block{i}.bn", input, stride: 1));
        x = MaxPool(g, Block(2, Block(1, x)), kernel: 2, stride: 2, pad: 0);
        x = MaxPool(g, Block(4, Block(3, x)), kernel: 2, stride: 2, pad: 0);
        return GlobalPool(g, Block(5, x));
    }

    /// <summary>torchvision's layout: layer1 keeps stride 1, layers 2-4 halve the resolution in their first block.</summary>
    private static string ResNet18(OnnxGraph g, Weights w, string x, ResNetStem stem)
    {
        x = Relu(g, ConvBn(g, w, "backbone.conv1", "backbone.bn1", x, stride: stem == ResNetStem.ImageNet ? 2 : 1));
        if (stem == ResNetStem.ImageNet)
            x = MaxPool(g, x, kernel: 3, stride: 2, pad: 1);
        for (var layer = 1; layer <= 4; layer++)
            for (var block = 0; block < 2; block++)
            {
                var p = $"backbone.layer{layer}.{block}";
                var stride = layer > 1 && block == 0 ? 2 : 1;
                var h = Relu(g, ConvBn(g, w, $"{p}.conv1", $"{p}.bn1", x, stride));
                h = ConvBn(g, w, $"{p}.conv2", $"{p}.bn2", h, stride: 1);
                var identity = w.Has($"{p}.downsample.0.weight")
                    ? ConvBn(g, w, $"{p}.downsample.0", $"{p}.downsample.1", x, stride)
                    : x;
                x = Relu(g, g.Op("Add", [h, identity]));
            }
        return GlobalPool(g, x);
    }

    private static string Mlp(OnnxGraph g, Weights w, string x)
    {
        string Layer(int i, string input, string? output = null)
        {
            var (weight, bias) = w.FoldBatchNorm($"backbone.fc{i}.weight", $"backbone.bn{i}");
            var dims = w.Shape($"backbone.fc{i}.weight");
            var y = g.Op("Gemm", [input, g.Constant($"backbone.fc{i}.weight_folded", weight, dims), g.Constant($"backbone.fc{i}.bias_folded", bias, dims[0])],
                [Attr.Int("transB", 1)]);
            return g.Op("Relu", [y], output: output);
        }
        return Layer(2, Layer(1, x), output: "embedding");
    }

    /// <summary>logits = s * normalize(z) normalize(W)^T; W is normalised here, once, in double precision.</summary>
    private static void CosineHead(OnnxGraph g, Weights w, string z)
    {
        var weight = w["head.weight"];
        var dims = w.Shape("head.weight");
        var normalized = NormalizeRows(weight, (int)dims[0], (int)dims[1]);
        var scale = w["head.scale"][0];
        g.Op("Gemm", [L2Normalize(g, z), g.Constant("head.weight_normalized", normalized, dims)],
            [Attr.Int("transB", 1), Attr.Float("alpha", scale)], output: "logits");
    }

    /// <summary>
    /// -t ||zn - mu_k||^2 = -t (1 - 2 zn.mu_k + |mu_k|^2) = (2t) zn.mu_k + (-t (1 + |mu_k|^2)):
    /// one Gemm with alpha = 2t and the per-class constant as its bias.
    /// </summary>
    private static void NcmHead(OnnxGraph g, Weights w, string z)
    {
        var mu = w["head.prototypes"];
        var dims = w.Shape("head.prototypes");
        var t = (double)w["head.temperature"][0];
        var (k, d) = ((int)dims[0], (int)dims[1]);
        var bias = new float[k];
        for (var c = 0; c < k; c++)
        {
            double sq = 0;
            for (var j = 0; j < d; j++) sq += (double)mu[c * d + j] * mu[c * d + j];
            bias[c] = (float)(-t * (1 + sq));
        }
        g.Op("Gemm", [L2Normalize(g, z), g.Constant("head.prototypes", mu, dims), g.Constant("head.distance_offset", bias, k)],
            [Attr.Int("transB", 1), Attr.Float("alpha", (float)(2 * t))], output: "logits");
    }

    private static string L2Normalize(OnnxGraph g, string z)
    {
        var norm = g.Op("ReduceL2", [z], [Attr.Ints("axes", 1), Attr.Int("keepdims", 1)]);
        var safe = g.Op("Max", [norm, g.Constant("normalize_eps", [NormalizeEps], 1)]);
        return g.Op("Div", [z, safe]);
    }

    private static float[] NormalizeRows(float[] m, int rows, int cols)
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

    /// <summary>A bias-free convolution followed by eval-mode BatchNorm, as one Conv with folded weight and bias.</summary>
    private static string ConvBn(OnnxGraph g, Weights w, string conv, string bn, string x, int stride)
    {
        var dims = w.Shape($"{conv}.weight");
        var k = dims[2];
        var (weight, bias) = w.FoldBatchNorm($"{conv}.weight", bn);
        return g.Op("Conv", [x, g.Constant($"{conv}.weight_folded", weight, dims), g.Constant($"{conv}.bias_folded", bias, dims[0])],
        [
            Attr.Ints("kernel_shape", k, dims[3]),
            Attr.Ints("strides", stride, stride),
            Attr.Ints("pads", k / 2, dims[3] / 2, k / 2, dims[3] / 2),
        ]);
    }

    private static string Relu(OnnxGraph g, string x) => g.Op("Relu", [x]);

    private static string MaxPool(OnnxGraph g, string x, int kernel, int stride, int pad) => g.Op("MaxPool", [x],
        [Attr.Ints("kernel_shape", kernel, kernel), Attr.Ints("strides", stride, stride), Attr.Ints("pads", pad, pad, pad, pad)]);

    /// <summary>mean over H and W, as the backbones' forward does; the flattened result is the "embedding" output.</summary>
    private static string GlobalPool(OnnxGraph g, string x) =>
        g.Op("Flatten", [g.Op("GlobalAveragePool", [x])], [Attr.Int("axis", 1)], output: "embedding");

    /// <summary>The model's float tensors by state-dict name, copied out once, and each BatchNorm's eps.</summary>
    private sealed class Weights
    {
        private readonly Dictionary<string, (float[] Data, long[] Shape)> tensors = [];
        private readonly Dictionary<string, double> eps = [];

        public Weights(Classifier model)
        {
            foreach (var (name, t) in model.state_dict())
                if (t.dtype == ScalarType.Float32)
                {
                    using var c = t.detach().cpu().contiguous();
                    tensors[name] = (c.data<float>().ToArray(), t.shape);
                }
            foreach (var (name, module) in model.named_modules())
                if (module is BatchNorm bn)
                    eps[name] = bn.eps;
        }

        public float[] this[string name] => Get(name).Data;

        public long[] Shape(string name) => Get(name).Shape;

        public bool Has(string name) => tensors.ContainsKey(name);

        /// <summary>
        /// W'[o] = W[o] * gamma[o] / sqrt(var[o] + eps), b'[o] = beta[o] - mean[o] * gamma[o] / sqrt(var[o] + eps),
        /// computed in double so folding adds no error beyond the final rounding to float.
        /// </summary>
        public (float[] Weight, float[] Bias) FoldBatchNorm(string weightName, string bn)
        {
            var weight = this[weightName];
            var gamma = this[$"{bn}.weight"];
            var beta = this[$"{bn}.bias"];
            var mean = this[$"{bn}.running_mean"];
            var variance = this[$"{bn}.running_var"];
            var e = eps.TryGetValue(bn, out var v) ? v : throw new InvalidOperationException($"no BatchNorm module named '{bn}'");
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

        private (float[] Data, long[] Shape) Get(string name) => tensors.TryGetValue(name, out var t)
            ? t
            : throw new InvalidOperationException($"the model has no float tensor '{name}'; the ONNX writer and the module layout disagree");
    }
}

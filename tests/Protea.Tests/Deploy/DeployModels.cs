using Protea.Data;
using Protea.Models;
using Protea.Tests.Support;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Protea.Tests.Deploy;

/// <summary>Seeded models with non-trivial BatchNorm statistics and fitted heads, and inputs to run them on.</summary>
internal static class DeployModels
{
    /// <summary>
    /// Raw inputs for an architecture: real Fashion-MNIST test images (1x28x28) for cnn and the small
    /// ResNet stem; the same images upscaled to 64x64 with three differently transformed channels
    /// (x, 255-x, x/2) for the ImageNet stem, so per-channel normalisation is exercised; and float
    /// features with very different means and scales for the MLP.
    /// </summary>
    public static (Tensor Inputs, int NumClasses) Data(string arch, string? stem, int count)
    {
        if (arch == "mlp")
        {
            using var g = new Generator(7);
            var features = 12;
            var means = arange(features, dtype: float32) * 10 - 30;
            var scales = arange(features, dtype: float32) + 1;
            return (randn([count, features], generator: g) * scales + means, 5);
        }
        var (images, _) = FashionMnist.FirstTestImages(count);
        if (stem != "imagenet")
            return (images, 10);
        using var scope = NewDisposeScope();
        var big = nn.functional.interpolate(images.to(float32), size: [64, 64], mode: InterpolationMode.Nearest);
        var rgb = cat([big, 255 - big, big / 2], 1).round().to(uint8);
        images.Dispose();
        return (rgb.MoveToOuterDisposeScope(), 10);
    }

    public static ModelDescription Describe(string arch, string? stem, string head, Tensor inputs, int numClasses) => new()
    {
        Architecture = arch,
        Head = head,
        Stem = stem,
        InputKind = inputs.dim() == 4 ? InputKind.Image : InputKind.Tabular,
        InputShape = inputs.shape[1..],
        ClassNames = Enumerable.Range(0, numClasses).Select(i => $"class-{i}").ToArray(),
        Normalization = InputNormalization.Fit(inputs),
    };

    /// <summary>
    /// A seeded model whose BatchNorm layers have random affine parameters and running statistics equal
    /// to those of one real batch (one train-mode pass with momentum 1), so folding them is exercised
    /// with non-trivial values. An NCM head is fitted on that pass's embeddings with labels i mod K, so
    /// every class gets a prototype even from a handful of examples.
    /// </summary>
    public static ModelBundle Build(string arch, string? stem, string head, Tensor inputs, int numClasses, int seed)
    {
        manual_seed(seed);
        var description = Describe(arch, stem, head, inputs, numClasses);
        var model = Architectures.Create(description);
        using var scope = NewDisposeScope();
        using (no_grad())
        {
            var norms = model.named_modules().Select(m => m.module).OfType<BatchNorm>().ToList();
            foreach (var bn in norms)
            {
                bn.weight.uniform_(0.5, 1.5);
                bn.bias!.normal_(0, 0.2);
                bn.momentum = 1.0;
            }
            model.train();
            var embeddings = model.Embed(description.Normalization.Apply(inputs));
            model.eval();
            foreach (var bn in norms) bn.momentum = 0.1;
            if (model.Head is NcmHead ncm)
                ncm.Fit(embeddings, Enumerable.Range(0, (int)inputs.shape[0]).Select(i => (long)(i % numClasses)).ToArray());
        }
        return new ModelBundle(description, model);
    }

    public static double MaxAbsDiff(float[] a, float[] b)
    {
        Assert.Equal(a.Length, b.Length);
        double max = 0;
        for (var i = 0; i < a.Length; i++) max = Math.Max(max, Math.Abs((double)a[i] - b[i]));
        return max;
    }

    /// <summary>Runs Debian's onnx.checker.check_model(full_check=True); returns "ir opset inputs outputs" for asserts.</summary>
    public static string CheckWithOnnx(string path) => Python.Run("""
        import sys, onnx
        m = onnx.load(sys.argv[1])
        onnx.checker.check_model(m, full_check=True)
        print(m.ir_version, m.opset_import[0].version, ",".join(i.name for i in m.graph.input), ",".join(o.name for o in m.graph.output))
        """, path).Trim();
}

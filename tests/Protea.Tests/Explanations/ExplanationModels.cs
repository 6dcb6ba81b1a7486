using Protea.Data;
using Protea.Models;
using Protea.Tests.Support;
using static TorchSharp.torch;

namespace Protea.Tests.Explanations;

/// <summary>Saved models for the explanation tests: untrained networks with BatchNorm statistics moved off their defaults.</summary>
internal static class ExplanationModels
{
    public static ModelDescription Describe(string arch, long[] shape, int classes = 10, InputNormalization? normalization = null) => new()
    {
        Architecture = arch,
        Head = "linear",
        Stem = arch == "resnet18" ? "small" : null,
        InputKind = arch == "mlp" ? InputKind.Tabular : InputKind.Image,
        InputShape = shape,
        ClassNames = arch == "cnn" && classes == 10 ? FashionMnist.ClassNames : Enumerable.Range(0, classes).Select(i => $"c{i}").ToArray(),
        Normalization = normalization ?? new InputNormalization(
            Enumerable.Repeat(arch == "mlp" ? 0.0 : 0.3, (int)shape[0]).ToArray(), Enumerable.Repeat(arch == "mlp" ? 1.0 : 0.35, (int)shape[0]).ToArray(),
            arch == "mlp" ? 1.0 : 1.0 / 255),
    };

    /// <summary>A saved model in <paramref name="dir"/>, seeded; BatchNorm running statistics and affine parameters are random so eval mode is not the identity.</summary>
    public static void Save(string dir, string arch = "cnn", long[]? shape = null, int classes = 10, int seed = 0)
    {
        var description = Describe(arch, shape ?? [1, 28, 28], classes);
        manual_seed(seed);
        using var bundle = new ModelBundle(description, Architectures.Create(description));
        using (no_grad())
            foreach (var (name, t) in bundle.Model.state_dict())
            {
                if (name.EndsWith("running_var")) t.copy_(rand_like(t) + 0.5);
                else if (name.EndsWith("running_mean")) t.copy_(randn_like(t) * 0.1);
                else if (name.EndsWith("bn.weight") || name.EndsWith("bn1.weight") || name.EndsWith("bn2.weight")) t.copy_(rand_like(t) + 0.5);
                else if (name == "head.weight") t.mul_(50); // logits of a few units, so every map is well above float32 noise
                else if (name.EndsWith("bn.bias") || name.EndsWith("bn1.bias") || name.EndsWith("bn2.bias")) t.copy_(randn_like(t) * 0.1);
            }
        bundle.Save(dir);
    }
}

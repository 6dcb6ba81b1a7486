using Protea.Models;
using static TorchSharp.torch;

namespace Protea.Explanations;

/// <summary>One method under cascading randomisation: the mean Spearman correlation with its original maps after each layer is randomised.</summary>
public sealed record MethodSanity(string Method, IReadOnlyList<string> Layers, IReadOnlyList<double> Spearman, bool Flagged);

/// <summary>`protea explain --sanity`'s result.</summary>
public sealed record SanityReport(int Images, double Threshold, IReadOnlyList<MethodSanity> Methods);

/// <summary>
/// Model-randomisation test (Adebayo et al. 2018, "Sanity checks for saliency maps"), cascading: the
/// layers with weights (convolutions and the head's linear maps) are re-drawn one at a time from the
/// top (the head first, then the backbone from its last convolution down), each from a normal with its
/// original weights' standard deviation (biases zeroed), and after each step the method's maps for the
/// same images and classes are compared with the trained model's by Spearman rank correlation
/// (averaged over images). A method that explains the model must change once the model is destroyed:
/// a mean correlation still above <see cref="Threshold"/> with every layer randomised is flagged.
/// </summary>
public static class SanityCheck
{
    public const double Threshold = 0.5;

    /// <param name="load">A fresh copy of the trained model for each method (the check destroys it).</param>
    public static SanityReport Run(Func<ExplainedModel> load, Tensor raw, IReadOnlyList<IExplainer> methods, int seed = 0,
        IProgress<string>? progress = null)
    {
        var rows = new List<MethodSanity>();
        foreach (var method in methods)
        {
            var model = load();
            try
            {
                using var scope = NewDisposeScope();
                var pixels = ExplainedModel.Pixels(raw);
                var targets = model.Predict(pixels);
                var original = Maps(method, model, pixels, targets);
                var layers = RandomisationOrder(model);
                var correlations = new List<double>();
                using var generator = new Generator((ulong)seed);
                foreach (var (name, weight, bias) in layers)
                {
                    using (no_grad())
                    {
                        using var std = weight.std();
                        using var fresh = randn(weight.shape, generator: generator).mul_(std);
                        weight.copy_(fresh);
                        bias?.zero_();
                    }
                    var randomised = Maps(method, model, pixels, targets);
                    correlations.Add(original.Zip(randomised, (a, b) => Spearman.Correlation(a, b)).Average());
                    progress?.Report($"{method.Name}: {name} randomised, Spearman {correlations[^1]:0.000}");
                }
                rows.Add(new MethodSanity(method.Name, layers.Select(l => l.Name).ToList(), correlations, correlations.Count > 0 && correlations[^1] > Threshold));
            }
            finally
            {
                model.Bundle.Dispose();
            }
        }
        return new SanityReport((int)raw.shape[0], Threshold, rows);
    }

    /// <summary>The weighted layers from the output back to the input: the head's, then the backbone's in reverse forward order.</summary>
    public static IReadOnlyList<(string Name, Tensor Weight, Tensor? Bias)> RandomisationOrder(ExplainedModel model)
    {
        // Layers are the weight matrices and kernels (2-d and up; BatchNorm's 1-d scales are not layers), in
        // registration order, which is forward order: the backbone, then the head.
        var parameters = model.Network.named_parameters().ToDictionary(p => p.name, p => (Tensor)p.parameter);
        return parameters
            .Where(p => p.Key.EndsWith(".weight", StringComparison.Ordinal) && p.Value.dim() >= 2)
            .Select(p => (Name: p.Key[..^".weight".Length], Weight: p.Value, Bias: parameters.GetValueOrDefault(p.Key[..^".weight".Length] + ".bias")))
            .Reverse()
            .ToList();
    }

    private static List<float[]> Maps(IExplainer method, ExplainedModel model, Tensor pixels, Tensor targets)
    {
        using var scope = NewDisposeScope();
        var maps = method.Explain(model, pixels, targets).to(float32).contiguous();
        var n = maps.shape[0];
        var flat = maps.reshape(n, -1);
        return Enumerable.Range(0, (int)n).Select(i => flat[i].ToFloats()).ToList();
    }
}

using static TorchSharp.torch;

namespace Protea.Explanations;

/// <summary>Uniform noise as an attribution map: the floor a real method must beat in deletion/insertion (seeded, so reports repeat).</summary>
public sealed class RandomAttribution(int seed) : IExplainer
{
    public static readonly ExplainerSpec Spec = new("random", "random attribution (a reference for faithfulness, not an explanation)", o => new RandomAttribution(o.Seed));

    private readonly Generator generator = new((ulong)seed);

    public string Name => Spec.Name;

    public Tensor Explain(ExplainedModel model, Tensor pixels, Tensor targets) =>
        rand([pixels.shape[0], pixels.shape[2], pixels.shape[3]], generator: generator);
}

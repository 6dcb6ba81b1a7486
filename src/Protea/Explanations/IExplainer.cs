using static TorchSharp.torch;

namespace Protea.Explanations;

/// <summary>
/// One explanation method: for a batch of images and a target class per image, one attribution map
/// per image over the input pixels, higher meaning more important for that class. Faithfulness
/// (deletion/insertion) and the sanity check read nothing else, so a new method (part prototypes'
/// activation maps, MIL attention) is one class plus one line in <see cref="Explainers"/>.
/// </summary>
public interface IExplainer
{
    /// <summary>The name in the CLI and in reports (the spec's).</summary>
    string Name { get; }

    /// <param name="model">The image model (its <see cref="ExplainedModel.Bundle"/> for model-specific evidence).</param>
    /// <param name="pixels">[N, C, H, W] float32 in [0, 1].</param>
    /// <param name="targets">[N] int64 class indices.</param>
    /// <returns>[N, H, W] float32 attributions (the caller disposes).</returns>
    Tensor Explain(ExplainedModel model, Tensor pixels, Tensor targets);
}

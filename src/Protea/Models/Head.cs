using TorchSharp;
using static TorchSharp.torch;

namespace Protea.Models;

/// <summary>
/// Maps embeddings [N, D] to class logits [N, K]. Every head holds one or more prototype vectors per
/// class in embedding space (weights, normalised weights or class means), which is what later
/// prototype heads, incremental learners and explainers build on.
/// </summary>
public abstract class Head(string name) : nn.Module<Tensor, Tensor>(name)
{
    public abstract string Kind { get; }
    public abstract long NumClasses { get; }
    public abstract long EmbeddingDim { get; }

    /// <summary>True when the head is learned by gradient descent; false when it is fitted from embeddings (NCM).</summary>
    public virtual bool IsTrainable => true;
}

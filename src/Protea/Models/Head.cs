using TorchSharp;
using static TorchSharp.torch;

namespace Protea.Models;

/// <summary>
/// Maps the backbone's output to class logits [N, K]: the pooled embedding [N, D], or for a head that
/// declares <see cref="Consumes.FeatureMap"/> the feature map [N, C, h, w]. Every head holds one or
/// more prototype vectors per class (weights, normalised weights or class means), which is what later
/// prototype heads, incremental learners and explainers build on. Each head describes itself to the
/// registry with a <see cref="HeadSpec"/> in its own file.
/// </summary>
public abstract class Head(string name) : nn.Module<Tensor, Tensor>(name)
{
    public abstract string Kind { get; }
    public abstract long NumClasses { get; }

    /// <summary>The size of each vector the head reads: the embedding size, or the feature map's channels for a feature-map head.</summary>
    public abstract long EmbeddingDim { get; }

    /// <summary>What the head reads from the backbone; the same as its spec's.</summary>
    public virtual Consumes Consumes => Consumes.Embedding;

    /// <summary>True when the head is learned by gradient descent; false when it is fitted from embeddings (NCM).</summary>
    public virtual bool IsTrainable => true;
}

using TorchSharp;
using static TorchSharp.torch;

namespace Protea.Models;

/// <summary>
/// A feature extractor: input batch -> embedding [N, EmbeddingDim]. Every backbone reports its
/// embedding size, and image backbones their last convolutional feature map (for Grad-CAM and
/// part prototypes), so heads and explainers are interchangeable parts.
/// </summary>
public abstract class Backbone(string name) : nn.Module<Tensor, Tensor>(name)
{
    public abstract long EmbeddingDim { get; }

    /// <summary>The spatial feature map before pooling, [N, C, h, w]; tabular backbones return the embedding.</summary>
    public abstract Tensor FeatureMap(Tensor input);
}

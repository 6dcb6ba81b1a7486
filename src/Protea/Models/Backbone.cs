using Protea.Deploy;
using TorchSharp;
using static TorchSharp.torch;

namespace Protea.Models;

/// <summary>
/// A feature extractor: input batch -> feature map -> (pool) -> embedding [N, EmbeddingDim]. Image
/// backbones give their last convolutional feature map [N, C, h, w] (for Grad-CAM, part prototypes
/// and heads that read it) and pool it by the mean over h and w; tabular backbones give the
/// embedding itself as their feature map. Pooling lives here, once, so <see cref="Classifier"/> can
/// hand a head either the map or the embedding. Each backbone describes itself to the registry with a
/// <see cref="BackboneSpec"/> in its own file.
/// </summary>
public abstract class Backbone(string name) : nn.Module<Tensor, Tensor>(name)
{
    public abstract long EmbeddingDim { get; }

    /// <summary>Channels of <see cref="FeatureMap"/>: mean pooling keeps them, so by default the embedding size.</summary>
    public virtual long FeatureChannels => EmbeddingDim;

    /// <summary>The spatial feature map before pooling, [N, C, h, w]; tabular backbones return the embedding.</summary>
    public abstract Tensor FeatureMap(Tensor input);

    /// <summary>Feature map -> embedding: the mean over h and w (not L2-normalised).</summary>
    public virtual Tensor Pool(Tensor featureMap) => featureMap.mean([2, 3]);

    /// <summary><see cref="Pool"/> as ONNX nodes, the result named <paramref name="output"/>.</summary>
    public virtual string EmitPool(OnnxGraph graph, string featureMap, string output) => OnnxLayers.GlobalAveragePool(graph, featureMap, output);

    /// <summary>The embedding: the pooled feature map (the feature map is released once pooled).</summary>
    public sealed override Tensor forward(Tensor input) => FeatureMap(input).Then(Pool);
}

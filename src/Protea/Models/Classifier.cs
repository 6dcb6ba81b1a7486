using TorchSharp;
using static TorchSharp.torch;

namespace Protea.Models;

/// <summary>
/// Backbone + head: normalised input -> backbone feature map -> (pool -> embedding) -> head -> logits.
/// The head reads the embedding or, if it declares <see cref="Consumes.FeatureMap"/>, the map itself;
/// the embedding (the pooled map, not L2-normalised) is what <see cref="Embed"/> returns either way.
/// Parameter names are "backbone.*" and "head.*", PyTorch style, so the safetensors file reads the
/// same in both worlds.
/// </summary>
public sealed class Classifier : nn.Module<Tensor, Tensor>
{
    /// <summary>Embeddings are the pooled feature map as it is, not L2-normalised (model.json records this).</summary>
    public const bool EmbeddingIsL2Normalized = false;

    private readonly Backbone backbone;
    private readonly Head head;

    public Classifier(Backbone backbone, Head head) : base("classifier")
    {
        var (what, dim) = head.Consumes == Consumes.FeatureMap
            ? ("feature maps", backbone.FeatureChannels)
            : ("embeddings", backbone.EmbeddingDim);
        if (dim != head.EmbeddingDim)
            throw new ArgumentException($"head expects {head.EmbeddingDim}-d {what}, backbone gives {dim}");
        this.backbone = backbone;
        this.head = head;
        RegisterComponents();
    }

    public Backbone Backbone => backbone;
    public Head Head => head;

    public Tensor Embed(Tensor x) => backbone.forward(x);

    public override Tensor forward(Tensor x)
    {
        if (head.Consumes == Consumes.FeatureMap)
            return backbone.FeatureMap(x).Then(head.forward);
        using var z = backbone.forward(x);
        return head.forward(z);
    }

    /// <summary>Logits and embeddings in one pass, for evaluation and export checks.</summary>
    public (Tensor Logits, Tensor Embedding) ForwardBoth(Tensor x)
    {
        if (head.Consumes == Consumes.Embedding)
        {
            var z = backbone.forward(x);
            return (head.forward(z), z);
        }
        var map = backbone.FeatureMap(x);
        var embedding = backbone.Pool(map);
        var logits = head.forward(map);
        if (!ReferenceEquals(embedding, map)) map.Dispose();
        return (logits, embedding);
    }
}

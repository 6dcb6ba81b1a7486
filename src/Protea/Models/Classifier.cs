using TorchSharp;
using static TorchSharp.torch;

namespace Protea.Models;

/// <summary>
/// Backbone + head: normalised input -> logits. Parameter names are "backbone.*" and "head.*",
/// PyTorch style, so the safetensors file reads the same in both worlds.
/// </summary>
public sealed class Classifier : nn.Module<Tensor, Tensor>
{
    private readonly Backbone backbone;
    private readonly Head head;

    public Classifier(Backbone backbone, Head head) : base("classifier")
    {
        if (backbone.EmbeddingDim != head.EmbeddingDim)
            throw new ArgumentException($"head expects {head.EmbeddingDim}-d embeddings, backbone gives {backbone.EmbeddingDim}");
        this.backbone = backbone;
        this.head = head;
        RegisterComponents();
    }

    public Backbone Backbone => backbone;
    public Head Head => head;

    public Tensor Embed(Tensor x) => backbone.forward(x);

    public override Tensor forward(Tensor x)
    {
        using var z = backbone.forward(x);
        return head.forward(z);
    }

    /// <summary>Logits and embeddings in one pass, for evaluation and export checks.</summary>
    public (Tensor Logits, Tensor Embedding) ForwardBoth(Tensor x)
    {
        var z = backbone.forward(x);
        return (head.forward(z), z);
    }
}

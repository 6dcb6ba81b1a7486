using Protea.Deploy;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Protea.Models;

/// <summary>
/// Cosine classifier (Gidaris &amp; Komodakis 2018; Hou et al. 2019): logits = s * cos(z, w_k) with
/// L2-normalised features and weights and a learnable scale s (initialised to 10). Bounded logits make
/// old and new classes comparable, which incremental learning relies on.
/// </summary>
public sealed class CosineHead : Head, IGrowableHead
{
    public static readonly HeadSpec Spec = new("cosine", Consumes.Embedding, ctx => new CosineHead(ctx.EmbeddingDim, ctx.NumClasses))
    {
        Emit = (g, head, input, output) => ((CosineHead)head).Emit(g, input, output),
    };

    private readonly Parameter weight;
    private readonly Parameter scale;

    public CosineHead(long embeddingDim, long numClasses, double initialScale = 10.0) : base("head")
    {
        using (var init = nn.Linear(embeddingDim, numClasses))
            weight = new Parameter(init.weight!.detach().clone());
        scale = new Parameter(tensor(new[] { (float)initialScale }));
        RegisterComponents();
    }

    public override string Kind => Spec.Name;
    public override long NumClasses => weight.shape[0];
    public override long EmbeddingDim => weight.shape[1];

    public override Tensor forward(Tensor z)
    {
        using var scope = NewDisposeScope();
        var zn = nn.functional.normalize(z, dim: 1);
        var wn = nn.functional.normalize(weight, dim: 1);
        return (scale * zn.matmul(wn.t())).MoveToOuterDisposeScope();
    }

    /// <summary>The same weights and scale for the old classes, new rows initialised as nn.Linear does.</summary>
    public Head Grow(long added)
    {
        var grown = new CosineHead(EmbeddingDim, NumClasses + added);
        using var noGrad = no_grad();
        grown.weight.narrow(0, 0, NumClasses).copy_(weight);
        grown.scale.copy_(scale);
        return grown;
    }

    /// <summary>Sets class <paramref name="index"/>'s weight to <paramref name="direction"/> [D] (weight imprinting; only its direction matters).</summary>
    public void Imprint(long index, Tensor direction)
    {
        using var noGrad = no_grad();
        weight[index].copy_(direction);
    }

    /// <summary>logits = s * normalize(z) normalize(W)^T; W is normalised here, once, in double precision.</summary>
    private void Emit(OnnxGraph g, string z, string output)
    {
        var normalized = OnnxLayers.NormalizeRows(OnnxLayers.Values(weight), (int)NumClasses, (int)EmbeddingDim);
        var s = OnnxLayers.Values(scale)[0];
        g.Op("Gemm", [OnnxLayers.L2Normalize(g, z), g.Constant("head.weight_normalized", normalized, weight.shape)],
            [OnnxGraph.Attribute.Int("transB", 1), OnnxGraph.Attribute.Float("alpha", s)], output: output);
    }
}

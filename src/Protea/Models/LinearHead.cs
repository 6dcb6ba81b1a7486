using Protea.Deploy;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Protea.Models;

/// <summary>Affine classifier: logits = z W^T + b (weight [K, D], bias [K], initialised as nn.Linear).</summary>
public sealed class LinearHead : Head, IGrowableHead
{
    public static readonly HeadSpec Spec = new("linear", Consumes.Embedding, ctx => new LinearHead(ctx.EmbeddingDim, ctx.NumClasses))
    {
        Emit = (g, head, input, output) => ((LinearHead)head).Emit(g, input, output),
    };

    private readonly Parameter weight;
    private readonly Parameter bias;

    public LinearHead(long embeddingDim, long numClasses) : base("head")
    {
        using (var init = nn.Linear(embeddingDim, numClasses))
        {
            weight = new Parameter(init.weight!.detach().clone());
            bias = new Parameter(init.bias!.detach().clone());
        }
        RegisterComponents();
    }

    public override string Kind => Spec.Name;
    public override long NumClasses => weight.shape[0];
    public override long EmbeddingDim => weight.shape[1];

    public override Tensor forward(Tensor z) => nn.functional.linear(z, weight, bias);

    /// <summary>The same weights for the old classes, new rows initialised as nn.Linear does.</summary>
    public Head Grow(long added)
    {
        var grown = new LinearHead(EmbeddingDim, NumClasses + added);
        using var noGrad = no_grad();
        grown.weight.narrow(0, 0, NumClasses).copy_(weight);
        grown.bias.narrow(0, 0, NumClasses).copy_(bias);
        return grown;
    }

    private void Emit(OnnxGraph g, string z, string output) =>
        g.Op("Gemm", [z, g.Constant("head.weight", weight), g.Constant("head.bias", bias)], [OnnxGraph.Attribute.Int("transB", 1)], output: output);
}

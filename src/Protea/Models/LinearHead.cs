using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Protea.Models;

/// <summary>Affine classifier: logits = z W^T + b (weight [K, D], bias [K], initialised as nn.Linear).</summary>
public sealed class LinearHead : Head
{
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

    public override string Kind => "linear";
    public override long NumClasses => weight.shape[0];
    public override long EmbeddingDim => weight.shape[1];

    public override Tensor forward(Tensor z) => nn.functional.linear(z, weight, bias);
}

using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;

namespace Protea.Models;

/// <summary>Tabular backbone: Linear-BatchNorm-ReLU layers (fc1/bn1, fc2/bn2) -> embedding.</summary>
public sealed class Mlp : Backbone
{
    private readonly Linear fc1, fc2;
    private readonly BatchNorm1d bn1, bn2;
    private readonly long hidden;

    public Mlp(long inFeatures, long hidden = 128) : base("mlp")
    {
        this.hidden = hidden;
        fc1 = Linear(inFeatures, hidden, hasBias: false);
        bn1 = BatchNorm1d(hidden);
        fc2 = Linear(hidden, hidden, hasBias: false);
        bn2 = BatchNorm1d(hidden);
        RegisterComponents();
    }

    public override long EmbeddingDim => hidden;

    public override Tensor FeatureMap(Tensor x) => forward(x);

    public override Tensor forward(Tensor x)
    {
        using var h = functional.relu(bn1.forward(fc1.forward(x)));
        return functional.relu(bn2.forward(fc2.forward(h)));
    }
}

using Protea.Data;
using Protea.Deploy;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;

namespace Protea.Models;

/// <summary>Tabular backbone: Linear-BatchNorm-ReLU layers (fc1/bn1, fc2/bn2) -> embedding.</summary>
public sealed class Mlp : Backbone
{
    public static readonly BackboneSpec Spec = new("mlp", [InputKind.Tabular], ctx => new Mlp(ctx.InputShape[0], ctx.Channels(128)))
    {
        Widens = true,
        SpatialFeatureMap = false,
        Emit = (g, backbone, input) => ((Mlp)backbone).Emit(g, input),
    };

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

    /// <summary>The embedding itself: an MLP has no spatial map.</summary>
    public override Tensor FeatureMap(Tensor x)
    {
        using var h = functional.relu(bn1.forward(fc1.forward(x)));
        return functional.relu(bn2.forward(fc2.forward(h)));
    }

    /// <summary>Identity: the feature map is already the embedding.</summary>
    public override Tensor Pool(Tensor featureMap) => featureMap;

    public override string EmitPool(OnnxGraph graph, string featureMap, string output) => graph.Op("Identity", [featureMap], output: output);

    /// <summary><see cref="FeatureMap"/> as ONNX nodes (each BatchNorm folded into its linear layer).</summary>
    private string Emit(OnnxGraph g, string x)
    {
        x = OnnxLayers.Relu(g, OnnxLayers.LinearBn(g, fc1, bn1, "backbone.fc1", x));
        return OnnxLayers.Relu(g, OnnxLayers.LinearBn(g, fc2, bn2, "backbone.fc2", x));
    }
}

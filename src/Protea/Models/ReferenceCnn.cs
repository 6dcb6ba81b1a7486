using Protea.Data;
using Protea.Deploy;
using TorchSharp;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;

namespace Protea.Models;

/// <summary>
/// The reference `cnn`, fixed so that benchmarks compare like with like: five Conv3x3-BN-ReLU blocks,
/// channels in->32->32, max-pool, 32->64->64, max-pool, 64->128, global average pool -> 128-d embedding.
/// </summary>
public sealed class ReferenceCnn : Backbone
{
    public static readonly BackboneSpec Spec = new("cnn", [InputKind.Image], ctx => new ReferenceCnn(ctx.InputShape[0], ctx.Channels))
    {
        Widens = true,
        Emit = (g, backbone, input) => ((ReferenceCnn)backbone).Emit(g, input),
    };

    private readonly ConvBnRelu block1, block2, block3, block4, block5;

    private readonly long embeddingDim;

    /// <param name="width">Scales each layer's channel count (<see cref="BackboneContext.Channels"/>); null: the published widths.</param>
    public ReferenceCnn(long inChannels = 1, Func<long, long>? width = null) : base("cnn")
    {
        var c = width ?? (channels => channels);
        block1 = new ConvBnRelu("block1", inChannels, c(32));
        block2 = new ConvBnRelu("block2", c(32), c(32));
        block3 = new ConvBnRelu("block3", c(32), c(64));
        block4 = new ConvBnRelu("block4", c(64), c(64));
        block5 = new ConvBnRelu("block5", c(64), c(128));
        embeddingDim = c(128);
        RegisterComponents();
    }

    public override long EmbeddingDim => embeddingDim;

    // Layout: block2's convolution takes its input channels-last where verified (see ConvLayoutGuard);
    // BatchNorm, ReLU and pooling then keep that layout.
    public override Tensor FeatureMap(Tensor x) => block1.forward(x)
        .Then(block2.forward).Then(t => functional.max_pool2d(t, 2))
        .Then(block3.forward).Then(block4.forward).Then(t => functional.max_pool2d(t, 2))
        .Then(block5.forward);

    /// <summary><see cref="FeatureMap"/> as ONNX nodes.</summary>
    private string Emit(OnnxGraph g, string x)
    {
        x = OnnxLayers.MaxPool(g, block2.Emit(g, "backbone.block2", block1.Emit(g, "backbone.block1", x)), kernel: 2, stride: 2, pad: 0);
        x = OnnxLayers.MaxPool(g, block4.Emit(g, "backbone.block4", block3.Emit(g, "backbone.block3", x)), kernel: 2, stride: 2, pad: 0);
        return block5.Emit(g, "backbone.block5", x);
    }
}

using Protea.Deploy;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;

namespace Protea.Models;

/// <summary>Conv3x3 (padding 1, no bias) -> BatchNorm -> ReLU; parameters named conv.* and bn.* as in PyTorch.</summary>
public sealed class ConvBnRelu : Module<Tensor, Tensor>
{
    private readonly Conv2d conv;
    private readonly BatchNorm2d bn;

    public ConvBnRelu(string name, long inChannels, long outChannels) : base(name)
    {
        conv = Conv2d(inChannels, outChannels, 3, padding: 1, bias: false);
        bn = BatchNorm2d(outChannels);
        RegisterComponents();
    }

    // ReLU in place on the BatchNorm output, as PyTorch's nn.ReLU(inplace=True): BN's backward does not need its output.
    public override Tensor forward(Tensor x) => ConvLayoutGuard.Current.Forward(conv, x).Then(bn.forward).relu_();

    /// <summary>The same block as ONNX nodes (BatchNorm folded into the convolution); <paramref name="name"/> is its state-dict prefix.</summary>
    internal string Emit(OnnxGraph g, string name, string x) => OnnxLayers.Relu(g, OnnxLayers.ConvBn(g, conv, bn, $"{name}.conv", x, stride: 1));
}

using Protea.Deploy;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;

namespace Protea.Models;

/// <summary>torchvision's ResNet BasicBlock; field names (conv1, bn1, conv2, bn2, downsample.0/1) match its state dict.</summary>
public sealed class BasicBlock : Module<Tensor, Tensor>
{
    private readonly Conv2d conv1, conv2;
    private readonly BatchNorm2d bn1, bn2;
    private readonly Sequential? downsample;
    private readonly long stride;


    public BasicBlock(string name, long inChannels, long outChannels, long stride) : base(name)
    {
        this.stride = stride;
        conv1 = Conv2d(inChannels, outChannels, 3, stride: stride, padding: 1, bias: false);
        bn1 = BatchNorm2d(outChannels);
        conv2 = Conv2d(outChannels, outChannels, 3, padding: 1, bias: false);
        bn2 = BatchNorm2d(outChannels);
        if (stride != 1 || inChannels != outChannels)
            downsample = Sequential(
                ("0", Conv2d(inChannels, outChannels, 1, stride: stride, bias: false)),
                ("1", BatchNorm2d(outChannels)));
        RegisterComponents();
    }

    public override Tensor forward(Tensor x)
    {
        using var scope = NewDisposeScope();
        var guard = ConvLayoutGuard.Current;
        var h = functional.relu(bn1.forward(guard.Forward(conv1, x)));
        h = bn2.forward(guard.Forward(conv2, h));
        var identity = downsample is null ? x : ((BatchNorm2d)downsample[1]).forward(guard.Forward((Conv2d)downsample[0], x));
        return functional.relu(h.add_(identity)).MoveToOuterDisposeScope();
    }

    /// <summary>The same block as ONNX nodes (each BatchNorm folded into its convolution); <paramref name="name"/> is its state-dict prefix.</summary>
    internal string Emit(OnnxGraph g, string name, string x)
    {
        var h = OnnxLayers.Relu(g, OnnxLayers.ConvBn(g, conv1, bn1, $"{name}.conv1", x, stride));
        h = OnnxLayers.ConvBn(g, conv2, bn2, $"{name}.conv2", h, stride: 1);
        var identity = downsample is null
            ? x
            : OnnxLayers.ConvBn(g, (Conv2d)downsample[0], (BatchNorm2d)downsample[1], $"{name}.downsample.0", x, stride);
        return OnnxLayers.Relu(g, g.Op("Add", [h, identity]));
    }
}

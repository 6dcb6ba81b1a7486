using Protea.Data;
using Protea.Deploy;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;

namespace Protea.Models;

public enum ResNetStem
{
    /// <summary>3x3 stride-1 stem without max-pool, for small images (CIFAR-style).</summary>
    Small,

    /// <summary>torchvision's 7x7 stride-2 stem with 3x3 max-pool: the layout pretrained files carry.</summary>
    ImageNet,
}

/// <summary>ResNet-18 (He et al. 2016) with torchvision's parameter names; the embedding is the 512-d pooled feature.</summary>
public sealed class ResNet18 : Backbone
{
    public static readonly BackboneSpec Spec = new("resnet18", [InputKind.Image], ctx => new ResNet18(ctx.InputShape[0], ParseStem(ctx.Stem), ctx.Channels))
    {
        Widens = true,
        Stems = ["small", "imagenet"],
        LoadPretrained = PretrainedWeights.LoadInto,
        Emit = (g, backbone, input) => ((ResNet18)backbone).Emit(g, input),
    };

    private readonly Conv2d conv1;
    private readonly BatchNorm2d bn1;
    private readonly Sequential layer1, layer2, layer3, layer4;

    private readonly long embeddingDim;

    /// <param name="width">Scales each layer's channel count (<see cref="BackboneContext.Channels"/>); null: the published widths.</param>
    public ResNet18(long inChannels, ResNetStem stem, Func<long, long>? width = null) : base("resnet18")
    {
        var c = width ?? (channels => channels);
        Stem = stem;
        conv1 = stem == ResNetStem.ImageNet
            ? Conv2d(inChannels, c(64), 7, stride: 2, padding: 3, bias: false)
            : Conv2d(inChannels, c(64), 3, stride: 1, padding: 1, bias: false);
        bn1 = BatchNorm2d(c(64));
        layer1 = Layer(c(64), c(64), 1);
        layer2 = Layer(c(64), c(128), 2);
        layer3 = Layer(c(128), c(256), 2);
        layer4 = Layer(c(256), c(512), 2);
        embeddingDim = c(512);
        RegisterComponents();
        InitLikeTorchvision();
    }

    public ResNetStem Stem { get; }

    /// <summary>The stem model.json names: "small" (also when absent) or "imagenet".</summary>
    public static ResNetStem ParseStem(string? stem) => stem switch
    {
        null or "small" => ResNetStem.Small,
        "imagenet" => ResNetStem.ImageNet,
        _ => throw new ProteaException($"stem '{stem}' is not known for resnet18; known: small, imagenet", "stem"),
    };

    public override long EmbeddingDim => embeddingDim;

    private static Sequential Layer(long inChannels, long outChannels, long stride) => Sequential(
        ("0", new BasicBlock("0", inChannels, outChannels, stride)),
        ("1", new BasicBlock("1", outChannels, outChannels, 1)));

    /// <summary>torchvision initialises convolutions with Kaiming-normal (fan_out, ReLU) and BN with weight 1, bias 0.</summary>
    private void InitLikeTorchvision()
    {
        using var noGrad = no_grad();
        foreach (var (_, module) in named_modules())
            if (module is Conv2d conv)
                init.kaiming_normal_(conv.weight!, mode: init.FanInOut.FanOut, nonlinearity: init.NonlinearityType.ReLU);
    }

    public override Tensor FeatureMap(Tensor x)
    {
        var h = ConvLayoutGuard.Current.Forward(conv1, x).Then(bn1.forward).relu_();
        if (Stem == ResNetStem.ImageNet)
            h = h.Then(t => functional.max_pool2d(t, 3, stride: 2, padding: 1));
        return h.Then(layer1.forward).Then(layer2.forward).Then(layer3.forward).Then(layer4.forward);
    }

    /// <summary><see cref="FeatureMap"/> as ONNX nodes: layer1 keeps stride 1, layers 2-4 halve the resolution in their first block.</summary>
    private string Emit(OnnxGraph g, string x)
    {
        x = OnnxLayers.Relu(g, OnnxLayers.ConvBn(g, conv1, bn1, "backbone.conv1", x, stride: Stem == ResNetStem.ImageNet ? 2 : 1));
        if (Stem == ResNetStem.ImageNet)
            x = OnnxLayers.MaxPool(g, x, kernel: 3, stride: 2, pad: 1);
        foreach (var (layerName, layer) in new[] { ("layer1", layer1), ("layer2", layer2), ("layer3", layer3), ("layer4", layer4) })
            foreach (var (blockName, block) in layer.named_children())
                x = ((BasicBlock)block).Emit(g, $"backbone.{layerName}.{blockName}", x);
        return x;
    }
}

using Protea.Data;

namespace Protea.Models;

/// <summary>The registry of backbones and heads by name, as used by the CLI and model.json.</summary>
public static class Architectures
{
    public static readonly IReadOnlyList<string> BackboneNames = ["cnn", "resnet18", "mlp"];
    public static readonly IReadOnlyList<string> HeadNames = ["linear", "cosine", "ncm"];

    public static Backbone CreateBackbone(string name, InputKind kind, long[] inputShape, string? stem)
    {
        var isImage = kind == InputKind.Image;
        return name switch
        {
            "cnn" when isImage => new ReferenceCnn(inputShape[0]),
            "resnet18" when isImage => new ResNet18(inputShape[0], ParseStem(stem)),
            "mlp" when !isImage => new Mlp(inputShape[0]),
            "cnn" or "resnet18" => throw new ProteaException($"--arch {name} needs image data; use --arch mlp for tabular (CSV) data"),
            "mlp" => throw new ProteaException("--arch mlp needs tabular (CSV) data; use --arch cnn or resnet18 for images"),
            _ => throw new ProteaException($"--arch: unknown architecture '{name}'; choose one of {string.Join(", ", BackboneNames)}"),
        };
    }

    public static Head CreateHead(string name, long embeddingDim, long numClasses) => name switch
    {
        "linear" => new LinearHead(embeddingDim, numClasses),
        "cosine" => new CosineHead(embeddingDim, numClasses),
        "ncm" => new NcmHead(embeddingDim, numClasses),
        _ => throw new ProteaException($"--head: unknown head '{name}'; choose one of {string.Join(", ", HeadNames)}"),
    };

    public static ResNetStem ParseStem(string? stem) => stem switch
    {
        null or "small" => ResNetStem.Small,
        "imagenet" => ResNetStem.ImageNet,
        _ => throw new ProteaException($"--stem: unknown stem '{stem}'; choose small or imagenet"),
    };

    public static Classifier Create(ModelDescription d)
    {
        var backbone = CreateBackbone(d.Architecture, d.InputKind, d.InputShape, d.Stem);
        return new Classifier(backbone, CreateHead(d.Head, backbone.EmbeddingDim, d.NumClasses));
    }
}

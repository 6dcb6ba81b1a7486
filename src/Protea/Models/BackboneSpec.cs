using System.Text.Json.Nodes;
using Protea.Data;
using Protea.Deploy;

namespace Protea.Models;

/// <summary>What a backbone factory gets: the input it will see and the backbone's own options.</summary>
/// <param name="InputShape">One raw input: [C, H, W] for images, [D] for tabular data.</param>
/// <param name="Stem">The stem, already checked against <see cref="BackboneSpec.Stems"/>; null for backbones without one.</param>
/// <param name="Config">The backbone's own section of model.json (<see cref="BackboneSpec.Describe"/>), or null.</param>
/// <param name="Width">The channel multiplier (1: the published widths), already checked against <see cref="BackboneSpec.Widens"/>.</param>
public sealed record BackboneContext(InputKind InputKind, long[] InputShape, string? Stem = null, JsonObject? Config = null, double Width = 1)
{
    /// <summary>A layer's channel count at this width: round(channels x width), at least 1.</summary>
    public long Channels(long channels) => Math.Max(1, (long)Math.Round(channels * Width, MidpointRounding.AwayFromZero));
}

/// <summary>Adds a backbone's feature map to an ONNX graph; returns the name of the map's value.</summary>
public delegate string BackboneEmitter(OnnxGraph graph, Backbone backbone, string input);

/// <summary>
/// Everything Protea knows about one backbone, declared beside its module (e.g. <c>ResNet18.Spec</c>)
/// and registered in <see cref="Registry"/>: the CLI's help and defaults, model loading, pretrained
/// weights and the ONNX export all read it; nothing else switches on the name.
/// </summary>
public sealed record BackboneSpec(string Name, IReadOnlyList<InputKind> InputKinds, Func<BackboneContext, Backbone> Create) : IComponentSpec
{
    /// <summary>True when the feature map is spatial, [N, C, h, w]; false when it is already the embedding [N, D].</summary>
    public bool SpatialFeatureMap { get; init; } = true;

    /// <summary>The stems the backbone can be built with, the default first; empty when it has no stem option.</summary>
    public IReadOnlyList<string> Stems { get; init; } = [];

    /// <summary>Loads pretrained weights from a file into a fresh backbone, or null when it has no pretrained format.</summary>
    public Action<Backbone, string>? LoadPretrained { get; init; }

    /// <summary>Emits the feature map as ONNX nodes (the pooling is the backbone's <see cref="Backbone.EmitPool"/>), or null: no ONNX export.</summary>
    public BackboneEmitter? Emit { get; init; }

    /// <summary>The backbone's own section of model.json, given back to <see cref="Create"/> on load; null writes none.</summary>
    public Func<Backbone, JsonObject?>? Describe { get; init; }

    /// <summary>Whether the backbone can be built narrower or wider (<see cref="BackboneContext.Width"/>), for small students.</summary>
    public bool Widens { get; init; }

    public bool Accepts(InputKind kind) => InputKinds.Contains(kind);

    /// <summary>The stem a model of this backbone records: null without a stem option, else the requested one or the default.</summary>
    public string? ResolveStem(string? stem)
    {
        if (Stems.Count == 0) return null;
        if (stem is null) return Stems[0];
        return Stems.Contains(stem)
            ? stem
            : throw new ProteaException($"stem '{stem}' is not known for {Name}; known: {string.Join(", ", Stems)}", "stem");
    }

    /// <summary>The widest multiplier a backbone is built with.</summary>
    public const double MaxWidth = 4;

    /// <summary>The width a model of this backbone records: checked to be in (0, 4], and 1 unless the backbone <see cref="Widens"/>.</summary>
    public double ResolveWidth(double width)
    {
        if (!(width > 0 && width <= MaxWidth))
            throw new ProteaException($"width multiplier {width} must be above 0 and at most {MaxWidth}", "width");
        if (width != 1 && !Widens)
            throw new ProteaException($"architecture '{Name}' has no width multiplier; it is built at width 1 only", "width");
        return width;
    }
}

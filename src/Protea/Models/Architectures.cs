using System.Text.Json.Nodes;
using Protea.Data;

namespace Protea.Models;

/// <summary>Builds backbones, heads and whole classifiers by name from the <see cref="Registry"/>, checking that the parts fit the data and each other.</summary>
public static class Architectures
{
    public static IReadOnlyList<string> BackboneNames => Registry.Backbones.Names;
    public static IReadOnlyList<string> HeadNames => Registry.Heads.Names;

    /// <summary>The default backbone for a kind of input: the first registered one that accepts it.</summary>
    public static BackboneSpec DefaultFor(InputKind kind) =>
        Registry.Backbones.All.FirstOrDefault(s => s.Accepts(kind))
        ?? throw new ProteaException($"no architecture takes {KindName(kind)} data", "architecture");

    /// <summary>Whether a head can sit on a backbone: a head that reads the feature map needs a spatial one.</summary>
    public static bool Fits(BackboneSpec backbone, HeadSpec head) => head.Consumes != Consumes.FeatureMap || backbone.SpatialFeatureMap;

    public static Backbone CreateBackbone(string name, InputKind kind, long[] inputShape, string? stem, JsonObject? config = null, double width = 1)
    {
        var spec = Registry.Backbones.Get(name);
        if (!spec.Accepts(kind))
        {
            var others = Registry.Backbones.All.Where(s => s.Accepts(kind)).Select(s => s.Name).ToArray();
            throw new ProteaException(
                $"architecture '{name}' takes {string.Join(" or ", spec.InputKinds.Select(KindName))} data, not {KindName(kind)} data"
                + (others.Length > 0 ? $"; for {KindName(kind)} data: {string.Join(", ", others)}" : ""), "architecture");
        }
        return spec.Create(new BackboneContext(kind, inputShape, spec.ResolveStem(stem), config, spec.ResolveWidth(width)));
    }

    /// <summary>A head for <paramref name="backbone"/> (built as <paramref name="architecture"/>), with <paramref name="config"/> from model.json when loading.</summary>
    public static Head CreateHead(string name, string architecture, Backbone backbone, long numClasses, JsonObject? config = null)
    {
        var spec = Registry.Heads.Get(name);
        var backboneSpec = Registry.Backbones.Get(architecture);
        if (!Fits(backboneSpec, spec))
            throw new ProteaException($"head '{name}' reads a spatial feature map, and architecture '{architecture}' has none", "head");
        var head = spec.Create(new HeadContext(backbone.EmbeddingDim, backbone.FeatureChannels, numClasses, config));
        if (head.Consumes != spec.Consumes || head.Kind != spec.Name)
            throw new InvalidOperationException($"head spec '{spec.Name}' ({spec.Consumes}) built a '{head.Kind}' head that consumes {head.Consumes}");
        return head;
    }

    /// <summary>A head reading embeddings of size <paramref name="embeddingDim"/> (for heads that consume the embedding).</summary>
    public static Head CreateHead(string name, long embeddingDim, long numClasses) =>
        Registry.Heads.Get(name).Create(new HeadContext(embeddingDim, embeddingDim, numClasses));

    /// <summary>The network model.json describes, with fresh weights.</summary>
    public static Classifier Create(ModelDescription d)
    {
        var backbone = CreateBackbone(d.Architecture, d.InputKind, d.InputShape, d.Stem, d.ArchitectureConfig, d.Width ?? 1);
        try
        {
            return new Classifier(backbone, CreateHead(d.Head, d.Architecture, backbone, d.NumClasses, d.HeadConfig));
        }
        catch
        {
            backbone.Dispose();
            throw;
        }
    }

    internal static string KindName(InputKind kind) => kind == InputKind.Image ? "image" : "tabular";
}

using Protea.Data;
using Protea.Models;

namespace Protea.Deploy;

/// <summary>
/// Writes a <see cref="Classifier"/> as an ONNX graph: input normalisation as one Mul + Add, then the
/// backbone's feature map, its pooling and the head, each emitted by the component itself (the Emit
/// beside its forward, named in its <see cref="BackboneSpec"/> / <see cref="HeadSpec"/>). Outputs
/// "logits" and "embedding" (the pooled feature map, as <see cref="Classifier.Embed"/> returns it).
/// </summary>
internal static class OnnxModelWriter
{
    public static bool CanExport(ModelDescription d) =>
        Registry.Backbones.TryGet(d.Architecture, out var b) && b.Emit is not null
        && Registry.Heads.TryGet(d.Head, out var h) && h.Emit is not null;

    public static void EnsureSupported(ModelDescription d)
    {
        if (!Registry.Backbones.TryGet(d.Architecture, out var b) || b.Emit is null)
            throw new ProteaException($"architecture '{d.Architecture}' has no ONNX export yet; use the torch engine (exportable: {Exportable(Registry.Backbones.All.Where(s => s.Emit is not null))})");
        if (!Registry.Heads.TryGet(d.Head, out var h) || h.Emit is null)
            throw new ProteaException($"head '{d.Head}' has no ONNX export yet; use the torch engine (exportable: {Exportable(Registry.Heads.All.Where(s => s.Emit is not null))})");
    }

    private static string Exportable(IEnumerable<IComponentSpec> specs) => string.Join(", ", specs.Select(s => s.Name));

    public static OnnxGraph Build(ModelBundle bundle)
    {
        var d = bundle.Description;
        EnsureSupported(d);
        var backbone = Registry.Backbones.Get(d.Architecture);
        var head = Registry.Heads.Get(d.Head);
        var model = bundle.Model;
        var g = new OnnxGraph();
        var x = g.Input("input", ["batch", .. d.InputShape.Cast<object>()]);
        x = Normalize(g, d, x, d.InputKind == InputKind.Image);
        var featureMap = backbone.Emit!(g, model.Backbone, x);
        var embedding = model.Backbone.EmitPool(g, featureMap, "embedding");
        head.Emit!(g, model.Head, head.Consumes == Consumes.FeatureMap ? featureMap : embedding, "logits");
        g.Output("logits", "batch", (long)d.NumClasses);
        g.Output("embedding", "batch", model.Backbone.EmbeddingDim);
        return g;
    }

    /// <summary>(raw * scale - mean) / std as raw * (scale / std) + (-mean / std), the very constants InputNormalization.Apply uses.</summary>
    private static string Normalize(OnnxGraph g, ModelDescription d, string x, bool image)
    {
        var n = d.Normalization;
        var channels = d.InputShape[0];
        if (n.Mean.Length != channels || n.Std.Length != channels)
            throw new ProteaException($"model.json: normalization has {n.Mean.Length} means and {n.Std.Length} stds for {channels} input {(image ? "channels" : "features")}; retrain or fix the file");
        long[] shape = image ? [1, channels, 1, 1] : [1, channels];
        var mul = g.Constant("input_scale", n.Std.Select(s => (float)(n.Scale / s)).ToArray(), shape);
        var add = g.Constant("input_shift", n.Mean.Zip(n.Std, (m, s) => (float)(-m / s)).ToArray(), shape);
        return g.Op("Add", [g.Op("Mul", [x, mul]), add]);
    }
}

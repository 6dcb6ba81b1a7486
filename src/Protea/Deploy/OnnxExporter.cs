using System.Text.Json;
using Protea.Data;
using Protea.IO;
using Protea.Models;

namespace Protea.Deploy;

/// <summary>
/// Writes a model as an ONNX file (IR 8, opset 13) with no Python involved, so ONNX Runtime or any
/// other ONNX consumer can serve it. Input "input": float32 raw values ([batch, C, H, W] pixels 0..255
/// or [batch, D] features), normalised inside the graph; outputs "logits" [batch, K] and "embedding"
/// [batch, D]. Metadata records the class names, the layout and the SHA-256 of the weights it was
/// made from, so a model changed after export is never served stale (<see cref="OnnxModelFile"/>).
/// </summary>
public static class OnnxExporter
{
    /// <summary>Exports DIR/model.safetensors + model.json to <paramref name="outPath"/> (default DIR/model.onnx); returns the path written.</summary>
    public static string Export(string modelDir, string? outPath = null)
    {
        var description = ModelBundle.ReadDescription(modelDir);
        OnnxModelWriter.EnsureSupported(description);
        // Hash before loading: if the weights change in between, the export records the older hash
        // and is seen as stale, never the other way round.
        var sha = OnnxModelFile.WeightsSha256(modelDir);
        using var bundle = ModelBundle.Load(modelDir);
        var path = outPath ?? OnnxModelFile.PathIn(modelDir);
        Export(bundle, sha, path);
        return path;
    }

    /// <summary>Exports a loaded model; <paramref name="weightsSha256"/> is the hash of the model.safetensors it came from.</summary>
    public static void Export(ModelBundle bundle, string weightsSha256, string outPath)
    {
        var bytes = ToBytes(bundle, weightsSha256);
        AtomicFile.Write(outPath, s => s.Write(bytes));
    }

    /// <summary>Whether the architecture and head have an ONNX export.</summary>
    public static bool CanExport(ModelDescription d) => OnnxModelWriter.CanExport(d);

    /// <summary>The serialised ModelProto.</summary>
    public static byte[] ToBytes(ModelBundle bundle, string weightsSha256)
    {
        var graph = OnnxModelWriter.Build(bundle);
        var version = typeof(OnnxExporter).Assembly.GetName().Version?.ToString() ?? "0";
        return graph.ToModelProto(Metadata(bundle.Description, weightsSha256), version);
    }

    /// <summary>
    /// The metadata_props an export of this description and weights carries. Everything the graph is
    /// built from is here, so comparing these with model.json and the weights file tells whether an
    /// export is current.
    /// </summary>
    public static IReadOnlyList<KeyValuePair<string, string>> Metadata(ModelDescription d, string weightsSha256)
    {
        var shape = string.Join(", ", d.InputShape);
        var input = d.InputKind == InputKind.Image
            ? $"float32 [batch, {shape}] (NCHW): raw pixel values 0..255; the graph normalises them"
            : $"float32 [batch, {shape}]: raw feature values; the graph normalises them";
        string Json<T>(T value) => JsonSerializer.Serialize(value, ProteaJson.Compact);
        return
        [
            new("protea_format_version", d.FormatVersion.ToString()),
            new("architecture", d.Architecture),
            new("stem", d.Stem ?? ""),
            new("head", d.Head),
            new("input_kind", d.InputKind == InputKind.Image ? "image" : "tabular"),
            new("input_shape", Json(d.InputShape)),
            new("input", input),
            new("normalization", Json(d.Normalization)),
            new("outputs", "logits float32 [batch, K]; embedding float32 [batch, D] (the backbone's output, before the head)"),
            new("class_names", Json(d.ClassNames)),
            new("weights_sha256", weightsSha256),
        ];
    }
}

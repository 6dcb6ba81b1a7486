using System.Security.Cryptography;
using Protea.Models;

namespace Protea.Deploy;

/// <summary>Whether DIR/model.onnx may be served in place of the model it was exported from.</summary>
public enum OnnxExportState
{
    /// <summary>Exported from exactly the current weights and model.json.</summary>
    Current,

    /// <summary>No DIR/model.onnx.</summary>
    Missing,

    /// <summary>The weights or model.json changed after the export (or the weights file is gone).</summary>
    Stale,

    /// <summary>DIR/model.onnx is not a readable ONNX file.</summary>
    Unreadable,
}

/// <summary>The exported file beside a model: where it lives, its metadata and whether it is current.</summary>
public static class OnnxModelFile
{
    public const string FileName = "model.onnx";

    public static string PathIn(string modelDir) => Path.Combine(modelDir, FileName);

    public static bool IsCurrent(string modelDir) => State(modelDir) == OnnxExportState.Current;

    /// <summary>Compares the export's metadata with what an export of DIR's weights and model.json would carry now.</summary>
    public static OnnxExportState State(string modelDir)
    {
        var description = ModelBundle.ReadDescription(modelDir);
        var path = PathIn(modelDir);
        if (!File.Exists(path)) return OnnxExportState.Missing;
        if (!File.Exists(ModelBundle.WeightsPath(modelDir))) return OnnxExportState.Stale;
        Dictionary<string, string> metadata;
        try
        {
            metadata = OnnxMetadataReader.Read(path);
        }
        catch (Exception e) when (e is InvalidDataException or IOException)
        {
            return OnnxExportState.Unreadable;
        }
        var expected = OnnxExporter.Metadata(description, WeightsSha256(modelDir));
        return expected.All(kv => metadata.TryGetValue(kv.Key, out var v) && v == kv.Value)
            ? OnnxExportState.Current
            : OnnxExportState.Stale;
    }

    /// <summary>ModelProto.metadata_props of an ONNX file, read without loading its graph.</summary>
    public static IReadOnlyDictionary<string, string> ReadMetadata(string path)
    {
        if (!File.Exists(path))
            throw new ProteaException($"{path}: file not found");
        try
        {
            return OnnxMetadataReader.Read(path);
        }
        catch (Exception e) when (e is InvalidDataException or IOException)
        {
            throw new ProteaException($"{path}: not a valid ONNX file ({e.Message}); export the model to ONNX again");
        }
    }

    /// <summary>Lower-case hex SHA-256 of DIR/model.safetensors, the identity an export records.</summary>
    public static string WeightsSha256(string modelDir) => ModelBundle.WeightsSha256(modelDir);
}

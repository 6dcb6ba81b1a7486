using System.Buffers.Binary;
using System.Runtime.InteropServices;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Protea.IO;
using TorchSharp;
using static TorchSharp.torch;

namespace Protea.Models;

/// <summary>
/// The safetensors format (huggingface/safetensors): 8-byte little-endian header length N, N bytes of
/// JSON {name: {dtype, shape, data_offsets: [begin, end]}, "__metadata__": {str: str}}, then raw
/// little-endian tensor data. Written and read here so no Python is needed; reads validate every
/// length and offset before touching data.
/// </summary>
public static class SafeTensors
{
    private static readonly (ScalarType Type, string Name, int Size)[] DTypes =
    [
        (ScalarType.Float32, "F32", 4), (ScalarType.Float64, "F64", 8), (ScalarType.Float16, "F16", 2),
        (ScalarType.BFloat16, "BF16", 2), (ScalarType.Int64, "I64", 8), (ScalarType.Int32, "I32", 4),
        (ScalarType.Int16, "I16", 2), (ScalarType.Int8, "I8", 1), (ScalarType.Byte, "U8", 1), (ScalarType.Bool, "BOOL", 1),
    ];

    public static void Write(string path, IEnumerable<KeyValuePair<string, Tensor>> tensors, IReadOnlyDictionary<string, string>? metadata = null) =>
        AtomicFile.Write(path, stream => Write(stream, tensors, metadata));

    /// <summary>The same bytes <see cref="Write(string, IEnumerable{KeyValuePair{string, Tensor}}, IReadOnlyDictionary{string, string}?)"/> writes (deterministic: tensors by name), into a stream.</summary>
    public static void Write(Stream output, IEnumerable<KeyValuePair<string, Tensor>> tensors, IReadOnlyDictionary<string, string>? metadata = null)
    {
        var items = tensors.OrderBy(t => t.Key, StringComparer.Ordinal)
            .Select(t => (t.Key, Tensor: t.Value.detach().cpu().contiguous())).ToList();
        try
        {
            var header = new JsonObject();
            if (metadata is { Count: > 0 })
                header["__metadata__"] = new JsonObject(metadata.Select(kv => KeyValuePair.Create(kv.Key, (JsonNode?)JsonValue.Create(kv.Value))));
            long offset = 0;
            foreach (var (name, t) in items)
            {
                var bytes = t.NumberOfElements * DType(t.dtype).Size;
                header[name] = new JsonObject
                {
                    ["dtype"] = DType(t.dtype).Name,
                    ["shape"] = new JsonArray(t.shape.Select(d => (JsonNode?)JsonValue.Create(d)).ToArray()),
                    ["data_offsets"] = new JsonArray(offset, offset + bytes),
                };
                offset += bytes;
            }
            var json = Encoding.UTF8.GetBytes(header.ToJsonString());
            // Pad the header with spaces to 8 bytes so the data section is aligned, as the reference writer does.
            var padded = (json.Length + 7) / 8 * 8;
            Span<byte> len = stackalloc byte[8];
            BinaryPrimitives.WriteUInt64LittleEndian(len, (ulong)padded);
            output.Write(len);
            output.Write(json);
            for (var i = json.Length; i < padded; i++) output.WriteByte((byte)' ');
            foreach (var (_, t) in items)
                output.Write(t.bytes);
        }
        finally
        {
            foreach (var (_, t) in items) t.Dispose();
        }
    }

    /// <summary>Reads every tensor; the caller owns (and disposes) them.</summary>
    public static Dictionary<string, Tensor> Read(string path) => Read(path, out _);

    public static Dictionary<string, Tensor> Read(string path, out IReadOnlyDictionary<string, string> metadata)
    {
        if (!File.Exists(path))
            throw new ProteaException($"{path}: file not found");
        var data = File.ReadAllBytes(path);
        if (data.Length < 8)
            throw Bad(path, $"file is {data.Length} bytes, shorter than the 8-byte header length");
        var headerLength = BinaryPrimitives.ReadUInt64LittleEndian(data);
        if (headerLength < 2 || headerLength > (ulong)(data.Length - 8))
            throw Bad(path, $"header length {headerLength} does not fit the file ({data.Length} bytes)");
        var headerBytes = data.AsMemory(8, (int)headerLength);
        JsonObject header;
        try
        {
            header = JsonNode.Parse(headerBytes.Span) as JsonObject
                ?? throw Bad(path, "header is not a JSON object");
            // JsonObject fills its dictionary lazily and throws ArgumentException on a repeated name there.
            _ = header.Count;
        }
        catch (JsonException e)
        {
            throw Bad(path, $"header is not valid JSON ({e.Message.Split('\n')[0]})");
        }
        catch (ArgumentException)
        {
            throw Bad(path, $"header names tensor '{RepeatedName(headerBytes)}' twice");
        }
        var dataStart = 8 + (long)headerLength;
        var dataLength = data.Length - dataStart;
        var meta = new Dictionary<string, string>();
        var result = new Dictionary<string, Tensor>();
        var ranges = new List<(long Begin, long End, string Name)>();
        try
        {
            foreach (var (name, node) in header)
            {
                if (name == "__metadata__")
                {
                    var m = node as JsonObject ?? throw Bad(path, "__metadata__ must be an object of strings");
                    foreach (var (k, v) in m)
                        meta[k] = v is JsonValue value && value.TryGetValue<string>(out var text)
                            ? text
                            : throw Bad(path, $"__metadata__ '{k}' must be a string");
                    continue;
                }
                var info = node as JsonObject ?? throw Bad(path, $"tensor '{name}': entry is not an object");
                var dtypeName = info["dtype"]?.GetValue<string>() ?? throw Bad(path, $"tensor '{name}': no dtype");
                var dtype = DTypes.FirstOrDefault(d => d.Name == dtypeName);
                if (dtype.Name is null) throw Bad(path, $"tensor '{name}': unsupported dtype {dtypeName}");
                var shape = (info["shape"] as JsonArray ?? throw Bad(path, $"tensor '{name}': no shape"))
                    .Select(d => d?.GetValue<long>() ?? throw Bad(path, $"tensor '{name}': shape holds null")).ToArray();
                if (shape.Any(d => d < 0)) throw Bad(path, $"tensor '{name}': negative dimension");
                var offsets = info["data_offsets"] as JsonArray;
                if (offsets is not { Count: 2 } || offsets[0] is null || offsets[1] is null)
                    throw Bad(path, $"tensor '{name}': data_offsets must be [begin, end]");
                long begin = offsets[0]!.GetValue<long>(), end = offsets[1]!.GetValue<long>();
                var expected = ByteCount(shape, dtype.Size)
                    ?? throw Bad(path, $"tensor '{name}': shape [{string.Join(", ", shape)}] is too large");
                if (begin < 0 || end < begin || end > dataLength)
                    throw Bad(path, $"tensor '{name}': data_offsets [{begin}, {end}] fall outside the {dataLength}-byte data section (truncated file?)");
                if (end - begin != expected)
                    throw Bad(path, $"tensor '{name}': {end - begin} bytes for shape [{string.Join(", ", shape)}] {dtypeName}, expected {expected}");
                ranges.Add((begin, end, name));
                var t = empty(shape, dtype.Type);
                data.AsSpan((int)(dataStart + begin), (int)(end - begin)).CopyTo(t.bytes);
                result[name] = t;
            }
            ranges.Sort();
            for (var i = 1; i < ranges.Count; i++)
                if (ranges[i].Begin < ranges[i - 1].End)
                    throw Bad(path, $"tensors '{ranges[i - 1].Name}' and '{ranges[i].Name}' overlap");
        }
        catch (Exception e)
        {
            foreach (var t in result.Values) t.Dispose();
            if (e is InvalidOperationException or FormatException)
                throw Bad(path, $"malformed header ({e.Message})");
            throw;
        }
        metadata = meta;
        return result;
    }

    /// <summary>Elements times element size, or null when it overflows 64 bits (a wrapped product could match the offsets).</summary>
    private static long? ByteCount(long[] shape, int elementSize)
    {
        try
        {
            var bytes = (long)elementSize;
            foreach (var d in shape) bytes = checked(bytes * d);
            return bytes;
        }
        catch (OverflowException)
        {
            return null;
        }
    }

    private static string RepeatedName(ReadOnlyMemory<byte> header)
    {
        using var doc = JsonDocument.Parse(header);
        return doc.RootElement.EnumerateObject().GroupBy(p => p.Name).First(g => g.Count() > 1).Key;
    }

    private static (ScalarType Type, string Name, int Size) DType(ScalarType t) =>
        DTypes.FirstOrDefault(d => d.Type == t) is { Name: not null } d ? d : throw new NotSupportedException($"dtype {t}");

    private static ProteaException Bad(string path, string what) =>
        new($"{path}: not a valid safetensors file: {what}");
}

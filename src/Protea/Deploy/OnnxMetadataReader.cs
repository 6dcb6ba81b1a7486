using System.Text;

namespace Protea.Deploy;

/// <summary>
/// Reads ModelProto.metadata_props (field 14) from an ONNX file without loading its graph: top-level
/// fields are walked by their wire type and everything else is skipped by seeking, so checking an
/// export's freshness costs a few reads even for a 45 MB ResNet.
/// </summary>
internal static class OnnxMetadataReader
{
    private const int IrVersionField = 1, GraphField = 7, MetadataField = 14;

    /// <summary>The metadata, or throws <see cref="InvalidDataException"/> saying what is wrong with the file.</summary>
    public static Dictionary<string, string> Read(string path)
    {
        using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 12);
        var metadata = new Dictionary<string, string>();
        bool sawIrVersion = false, sawGraph = false;
        while (stream.Position < stream.Length)
        {
            var tag = ReadVarint(stream);
            var field = (int)(tag >> 3);
            switch ((int)(tag & 7))
            {
                case 0:
                    ReadVarint(stream);
                    sawIrVersion |= field == IrVersionField;
                    break;
                case 1: Skip(stream, 8); break;
                case 5: Skip(stream, 4); break;
                case 2:
                    var length = ReadVarint(stream);
                    if (length > (ulong)(stream.Length - stream.Position))
                        throw new InvalidDataException($"field {field} claims {length} bytes but only {stream.Length - stream.Position} remain (truncated file?)");
                    if (field == MetadataField)
                    {
                        var entry = new byte[length];
                        stream.ReadExactly(entry);
                        var (key, value) = ReadEntry(entry);
                        metadata[key] = value;
                    }
                    else
                    {
                        sawGraph |= field == GraphField;
                        stream.Seek((long)length, SeekOrigin.Current);
                    }
                    break;
                default:
                    throw new InvalidDataException($"unexpected wire type {tag & 7} at byte {stream.Position}");
            }
        }
        if (!sawIrVersion || !sawGraph)
            throw new InvalidDataException("no ir_version or no graph");
        return metadata;
    }

    /// <summary>StringStringEntryProto: key = 1, value = 2.</summary>
    private static (string Key, string Value) ReadEntry(byte[] entry)
    {
        using var s = new MemoryStream(entry);
        string key = "", value = "";
        while (s.Position < s.Length)
        {
            var tag = ReadVarint(s);
            if ((tag & 7) != 2) throw new InvalidDataException("metadata entry has a non-string field");
            var length = ReadVarint(s);
            if (length > (ulong)(s.Length - s.Position)) throw new InvalidDataException("metadata entry is truncated");
            var text = Encoding.UTF8.GetString(entry, (int)s.Position, (int)length);
            s.Position += (long)length;
            if (tag >> 3 == 1) key = text;
            else if (tag >> 3 == 2) value = text;
        }
        return (key, value);
    }

    private static ulong ReadVarint(Stream s)
    {
        ulong value = 0;
        for (var shift = 0; shift < 64; shift += 7)
        {
            var b = s.ReadByte();
            if (b < 0) throw new InvalidDataException("file ends inside a varint (truncated file?)");
            value |= (ulong)(b & 0x7F) << shift;
            if (b < 0x80) return value;
        }
        throw new InvalidDataException("varint longer than ten bytes");
    }

    private static void Skip(Stream s, int bytes)
    {
        if (s.Length - s.Position < bytes) throw new InvalidDataException("file ends inside a fixed-size field (truncated file?)");
        s.Seek(bytes, SeekOrigin.Current);
    }
}

using System.Buffers;
using System.Buffers.Binary;
using System.Text;

namespace Protea.Deploy;

/// <summary>
/// The protocol-buffers wire format (protobuf.dev/programming-guides/encoding), just the parts ONNX
/// files need: varints, 32-bit floats, strings, bytes and nested messages. Repeated scalars are
/// written unpacked, which onnx.proto (proto2, no [packed]) declares and every parser accepts.
/// </summary>
internal sealed class ProtoWriter
{
    private const int Varint = 0, LengthDelimited = 2, Fixed32 = 5;

    private readonly ArrayBufferWriter<byte> buffer = new(256);

    public ReadOnlySpan<byte> WrittenSpan => buffer.WrittenSpan;

    public ProtoWriter Int(int field, long value)
    {
        Tag(field, Varint);
        RawVarint((ulong)value); // negative int64 values take ten bytes, as the spec says
        return this;
    }

    public ProtoWriter Float(int field, float value)
    {
        Tag(field, Fixed32);
        BinaryPrimitives.WriteSingleLittleEndian(buffer.GetSpan(4), value);
        buffer.Advance(4);
        return this;
    }

    public ProtoWriter String(int field, string value) => Bytes(field, Encoding.UTF8.GetBytes(value));

    public ProtoWriter Bytes(int field, ReadOnlySpan<byte> value)
    {
        Tag(field, LengthDelimited);
        RawVarint((ulong)value.Length);
        buffer.Write(value);
        return this;
    }

    /// <summary>A nested message: written into its own buffer first, since its length prefix comes before it.</summary>
    public ProtoWriter Message(int field, Action<ProtoWriter> write)
    {
        var inner = new ProtoWriter();
        write(inner);
        return Bytes(field, inner.WrittenSpan);
    }

    private void Tag(int field, int wireType) => RawVarint((ulong)((field << 3) | wireType));

    private void RawVarint(ulong value)
    {
        var span = buffer.GetSpan(10);
        var n = 0;
        while (value >= 0x80)
        {
            span[n++] = (byte)(value | 0x80);
            value >>= 7;
        }
        span[n++] = (byte)value;
        buffer.Advance(n);
    }
}

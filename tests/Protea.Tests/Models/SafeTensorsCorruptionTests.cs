using System.Buffers.Binary;
using System.Text;
using Protea.Models;
using Protea.Tests.Support;
using static TorchSharp.torch;

namespace Protea.Tests.Models;

/// <summary>Every damaged file is refused with a ProteaException (and no other type) naming the file and the problem.</summary>
public sealed class SafeTensorsCorruptionTests : IDisposable
{
    private readonly TempDir dir = new();

    public void Dispose() => dir.Dispose();

    /// <summary>An 8-byte little-endian header length, the header and the data, as the format lays them out.</summary>
    private static byte[] File(string header, int dataBytes) => File(header, new byte[dataBytes]);

    private static byte[] File(string header, byte[] data)
    {
        var json = Encoding.UTF8.GetBytes(header);
        var bytes = new byte[8 + json.Length + data.Length];
        BinaryPrimitives.WriteUInt64LittleEndian(bytes, (ulong)json.Length);
        json.CopyTo(bytes, 8);
        data.CopyTo(bytes, 8 + json.Length);
        return bytes;
    }

    private string Refused(byte[] bytes, params string[] problem)
    {
        var path = dir.File("bad.safetensors");
        System.IO.File.WriteAllBytes(path, bytes);
        var e = Assert.Throws<ProteaException>(() => SafeTensors.Read(path));
        Assert.StartsWith(path + ": ", e.Message);
        foreach (var p in problem) Assert.Contains(p, e.Message);
        Assert.DoesNotContain('\n', e.Message);
        return e.Message;
    }

    [Fact]
    public void Read_MissingFile_NamesFile()
    {
        var path = dir.File("absent.safetensors");
        var e = Assert.Throws<ProteaException>(() => SafeTensors.Read(path));
        Assert.Equal($"{path}: file not found", e.Message);
    }

    [Fact]
    public void Read_EmptyFile_SaysTooShort() => Refused([], "0 bytes", "8-byte header length");

    [Fact]
    public void Read_HeaderLengthBeyondFile_SaysItDoesNotFit()
    {
        var bytes = File("""{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}""", 4);
        BinaryPrimitives.WriteUInt64LittleEndian(bytes, 1000);
        Refused(bytes, "header length 1000", $"({bytes.Length} bytes)");
    }

    [Fact]
    public void Read_HeaderLengthNearUInt64Max_SaysItDoesNotFit()
    {
        var bytes = File("{}", 0);
        BinaryPrimitives.WriteUInt64LittleEndian(bytes, ulong.MaxValue - 3);
        Refused(bytes, "header length", "does not fit");
    }

    [Fact]
    public void Read_InvalidJson_SaysSo() => Refused(File("""{"a": {"dtype": "F32", """, 0), "not valid JSON");

    [Fact]
    public void Read_HeaderNotAnObject_SaysSo() => Refused(File("[1, 2, 3]", 0), "not a JSON object");

    [Fact]
    public void Read_TruncatedData_NamesTensorAndOffsets()
    {
        using var t = arange(10, dtype: float32);
        var path = dir.File("full.safetensors");
        SafeTensors.Write(path, [new("weights", t)]);
        var bytes = System.IO.File.ReadAllBytes(path);
        Refused(bytes[..^4], "'weights'", "data_offsets [0, 40]", "36-byte data section", "truncated");
    }

    [Fact]
    public void Read_ByteCountNotMatchingShape_SaysExpectedCount() =>
        Refused(File("""{"w":{"dtype":"F32","shape":[2,2],"data_offsets":[0,12]}}""", 12),
            "'w'", "12 bytes for shape [2, 2] F32, expected 16");

    [Fact]
    public void Read_OverlappingTensors_NamesBoth() =>
        Refused(File("""{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}}""", 12),
            "'a' and 'b' overlap");

    [Fact]
    public void Read_UnknownDtype_NamesIt() =>
        Refused(File("""{"w":{"dtype":"F8_E4M3","shape":[4],"data_offsets":[0,4]}}""", 4), "'w'", "unsupported dtype F8_E4M3");

    [Fact]
    public void Read_NegativeDimension_SaysSo() =>
        Refused(File("""{"w":{"dtype":"U8","shape":[-1],"data_offsets":[0,0]}}""", 0), "'w'", "negative dimension");

    [Fact]
    public void Read_ShapeOfWrongType_SaysMalformed() =>
        Refused(File("""{"w":{"dtype":"U8","shape":["two"],"data_offsets":[0,2]}}""", 2), "malformed header");

    [Fact]
    public void Read_NullInHeader_SaysMalformed()
    {
        Refused(File("""{"w":{"dtype":"U8","shape":[null],"data_offsets":[0,2]}}""", 2), "'w'");
        Refused(File("""{"w":{"dtype":"U8","shape":[2],"data_offsets":[null,2]}}""", 2), "'w'");
        Refused(File("""{"w":null}""", 0), "'w'");
    }

    [Fact]
    public void Read_MissingDataOffsets_SaysSo() =>
        Refused(File("""{"w":{"dtype":"U8","shape":[2]}}""", 2), "'w'", "data_offsets must be [begin, end]");

    [Fact]
    public void Read_ShapeWhoseSizeOverflows_IsRefusedWithoutAllocating() =>
        // 2^62 * 4 elements of 4 bytes wraps a 64-bit product to 0, which would match data_offsets [0, 0].
        Refused(File("""{"w":{"dtype":"F32","shape":[4611686018427387904,4],"data_offsets":[0,0]}}""", 0), "'w'");

    [Fact]
    public void Read_DuplicateTensorName_IsRefused() =>
        Refused(File("""{"w":{"dtype":"U8","shape":[1],"data_offsets":[0,1]},"w":{"dtype":"U8","shape":[1],"data_offsets":[1,2]}}""", 2), "'w'");

    [Fact]
    public void Read_MetadataValueNotAString_SaysMalformed() =>
        Refused(File("""{"__metadata__":{"epochs":3}}""", 0), "__metadata__");
}

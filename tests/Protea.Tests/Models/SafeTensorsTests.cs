using System.Text.Json;
using Protea.Models;
using Protea.Tests.Support;
using TorchSharp;
using static TorchSharp.torch;

namespace Protea.Tests.Models;

public sealed class SafeTensorsTests
{
    /// <summary>One tensor of every supported dtype, with a scalar, a zero-size and a non-contiguous one.</summary>
    private static Dictionary<string, Tensor> Sample() => new()
    {
        ["f32"] = arange(6, dtype: float32).reshape(2, 3) / 7,
        ["f64_scalar"] = tensor(Math.PI, dtype: float64),
        ["i64"] = tensor(new long[] { -(1L << 40), -1, 0, long.MaxValue }),
        ["u8_empty"] = zeros(new long[] { 0, 5 }, dtype: uint8),
        ["u8"] = tensor(new byte[] { 0, 1, 127, 255 }),
        ["f16"] = tensor(new float[] { 0.5f, -2f, 65504f }).to(float16),
        ["bf16"] = tensor(new float[] { 1f, -3.5f }).to(bfloat16),
        ["i32"] = tensor(new[] { int.MinValue, 7 }),
        ["i16"] = tensor(new short[] { short.MinValue, 3 }),
        ["i8"] = tensor(new sbyte[] { -128, 127 }),
        ["bool"] = tensor(new[] { true, false, true }),
        ["transposed"] = arange(12, dtype: float32).reshape(3, 4).t(),
    };

    [Fact]
    public void WriteThenRead_KeepsEveryDtypeShapeValueAndMetadata()
    {
        using var dir = new TempDir();
        var path = dir.File("t.safetensors");
        var sample = Sample();
        var metadata = new Dictionary<string, string> { ["format"] = "pt", ["note"] = "é \"quoted\" +" };
        SafeTensors.Write(path, sample, metadata);

        var read = SafeTensors.Read(path, out var readMeta);
        Assert.Equal(sample.Keys.Order(), read.Keys.Order());
        foreach (var (name, expected) in sample)
        {
            Assert.Equal(expected.dtype, read[name].dtype);
            Assert.Equal(expected.shape, read[name].shape);
            Assert.True(expected.Equals(read[name]), name);
        }
        Assert.Equal(metadata, readMeta);
        Assert.Equal(["t.safetensors"], Directory.GetFiles(dir.Path).Select(Path.GetFileName));
    }

    [Fact]
    public void Write_DataSectionStartsAtAMultipleOfEightAndTensorsAreContiguous()
    {
        using var dir = new TempDir();
        var path = dir.File("t.safetensors");
        SafeTensors.Write(path, Sample());
        var bytes = File.ReadAllBytes(path);
        var headerLength = (long)BitConverter.ToUInt64(bytes, 0);
        Assert.Equal(0, headerLength % 8);
        using var header = JsonDocument.Parse(bytes.AsMemory(8, (int)headerLength));
        // Sorted by begin offset, each tensor starts where the previous one ends and the last ends at the file's end.
        var ranges = header.RootElement.EnumerateObject().Where(p => p.Name != "__metadata__")
            .Select(p => (Begin: p.Value.GetProperty("data_offsets")[0].GetInt64(), End: p.Value.GetProperty("data_offsets")[1].GetInt64()))
            .OrderBy(r => r.Begin).ThenBy(r => r.End).ToList();
        Assert.Equal(0, ranges[0].Begin);
        for (var i = 1; i < ranges.Count; i++) Assert.Equal(ranges[i - 1].End, ranges[i].Begin);
        Assert.Equal(bytes.Length - 8 - headerLength, ranges[^1].End);
    }

    [Fact]
    public void Write_FileReadsInPythonWithTheSameValues()
    {
        using var dir = new TempDir();
        var path = dir.File("t.safetensors");
        var sample = new Dictionary<string, Tensor>
        {
            ["f32"] = arange(6, dtype: float32).reshape(2, 3) / 7,
            ["f64_scalar"] = tensor(Math.PI, dtype: float64),
            ["i64"] = tensor(new long[] { -(1L << 40), -1, 0, long.MaxValue }),
            ["u8_empty"] = zeros(new long[] { 0, 5 }, dtype: uint8),
            ["u8"] = tensor(new byte[] { 0, 1, 127, 255 }),
        };
        SafeTensors.Write(path, sample, new Dictionary<string, string> { ["format"] = "pt", ["run"] = "42" });

        var json = Python.Run(SafeTensorsPy.Functions + """
            import sys
            tensors, meta = st_read(sys.argv[1])
            print(json.dumps({'meta': meta, 'tensors': {k: {'dtype': str(v.dtype), 'shape': list(v.shape),
                'values': [x.item() for x in v.reshape(-1)]} for k, v in tensors.items()}}))
            """, path);
        using var doc = JsonDocument.Parse(json);
        var meta = doc.RootElement.GetProperty("meta");
        Assert.Equal("pt", meta.GetProperty("format").GetString());
        Assert.Equal("42", meta.GetProperty("run").GetString());
        var py = doc.RootElement.GetProperty("tensors");
        Assert.Equal(sample.Keys.Order(), py.EnumerateObject().Select(p => p.Name).Order());
        var numpyDtype = new Dictionary<string, string> { ["f32"] = "float32", ["f64_scalar"] = "float64", ["i64"] = "int64", ["u8_empty"] = "uint8", ["u8"] = "uint8" };
        foreach (var (name, expected) in sample)
        {
            var t = py.GetProperty(name);
            Assert.Equal(numpyDtype[name], t.GetProperty("dtype").GetString());
            Assert.Equal(expected.shape, t.GetProperty("shape").EnumerateArray().Select(d => d.GetInt64()));
            var values = t.GetProperty("values").EnumerateArray().ToList();
            if (expected.dtype == ScalarType.Int64)
                Assert.Equal(expected.data<long>().ToArray(), values.Select(v => v.GetInt64()));
            else if (expected.dtype == ScalarType.Byte)
                Assert.Equal(expected.data<byte>().Select(b => (long)b), values.Select(v => v.GetInt64()));
            else
                // Python prints the exact double; a float32 widens to it exactly.
                Assert.Equal(expected.to(float64).data<double>().ToArray(), values.Select(v => v.GetDouble()));
        }
    }

    [Fact]
    public void Read_FileWrittenByPython_GivesItsValues()
    {
        using var dir = new TempDir();
        var path = dir.File("py.safetensors");
        Python.Run(SafeTensorsPy.Functions + """
            import sys
            st_write(sys.argv[1], {
                'weight': (np.arange(6, dtype=np.float32) / 7).reshape(2, 3),
                'pi': np.array(np.pi, dtype=np.float64),
                'ids': np.array([-2**40, -1, 0, 2**63 - 1], dtype=np.int64),
                'pixels': np.array([[0, 255], [128, 7]], dtype=np.uint8),
                'nothing': np.zeros((3, 0), dtype=np.float32),
                'flags': np.array([True, False]),
            }, {'format': 'pt', 'source': 'numpy'})
            """, path);

        var read = SafeTensors.Read(path, out var meta);
        Assert.Equal(new Dictionary<string, string> { ["format"] = "pt", ["source"] = "numpy" }, meta);
        Assert.Equal(["flags", "ids", "nothing", "pi", "pixels", "weight"], read.Keys.Order());
        Assert.Equal([2L, 3], read["weight"].shape);
        Assert.Equal(Enumerable.Range(0, 6).Select(i => i / 7f), read["weight"].data<float>().ToArray());
        Assert.Empty(read["pi"].shape);
        Assert.Equal(Math.PI, read["pi"].item<double>());
        Assert.Equal([-(1L << 40), -1, 0, long.MaxValue], read["ids"].data<long>().ToArray());
        Assert.Equal(ScalarType.Byte, read["pixels"].dtype);
        Assert.Equal(new byte[] { 0, 255, 128, 7 }, read["pixels"].data<byte>().ToArray());
        Assert.Equal([3L, 0], read["nothing"].shape);
        Assert.Equal([true, false], read["flags"].data<bool>().ToArray());
    }
}

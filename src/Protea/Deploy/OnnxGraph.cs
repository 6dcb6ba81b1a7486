using System.Runtime.InteropServices;
using Protea.Models;
using static TorchSharp.torch;

namespace Protea.Deploy;

/// <summary>
/// An ONNX graph under construction (float32 tensors only) and its serialisation as a ModelProto.
/// Field numbers are those of onnx/onnx.proto; the comments name each message and field. Public so a
/// component (backbone or head) can emit itself beside its forward pass, wherever it is defined.
/// </summary>
public sealed class OnnxGraph
{
    public const long IrVersion = 8;
    public const long Opset = 13;
    private const int FloatType = 1; // TensorProto.DataType.FLOAT

    private readonly List<Node> nodes = [];
    private readonly List<Initializer> initializers = [];
    private readonly List<ValueInfo> inputs = [];
    private readonly List<ValueInfo> outputs = [];
    private readonly HashSet<string> names = [];

    /// <summary>A dimension is a fixed size (long) or a symbolic name (string) such as "batch".</summary>
    public string Input(string name, params object[] shape)
    {
        Claim(name);
        inputs.Add(new ValueInfo(name, shape));
        return name;
    }

    public void Output(string name, params object[] shape) => outputs.Add(new ValueInfo(name, shape));

    public string Constant(string hint, float[] data, params long[] dims)
    {
        if (data.Length != dims.Aggregate(1L, (a, b) => a * b))
            throw new ArgumentException($"constant {hint}: {data.Length} values for shape [{string.Join(", ", dims)}]");
        var name = Fresh(hint);
        initializers.Add(new Initializer(name, dims, data));
        return name;
    }

    /// <summary>A float tensor's values as a constant of the same shape.</summary>
    public string Constant(string hint, Tensor t)
    {
        using var c = t.detach().cpu().to(ScalarType.Float32).contiguous();
        return Constant(hint, c.ToFloats(), t.shape);
    }

    /// <summary>Adds a node with one output; <paramref name="output"/> names it (a graph output), else a fresh name.</summary>
    public string Op(string opType, string[] operands, Attribute[]? attributes = null, string? output = null)
    {
        var name = output ?? Fresh(opType.ToLowerInvariant());
        if (output is not null) Claim(output);
        nodes.Add(new Node(opType, operands, name, attributes ?? []));
        return name;
    }

    internal byte[] ToModelProto(IReadOnlyList<KeyValuePair<string, string>> metadata, string producerVersion)
    {
        var model = new ProtoWriter()
            .Int(1, IrVersion)                                    // ModelProto.ir_version
            .String(2, "protea")                                  // ModelProto.producer_name
            .String(3, producerVersion)                           // ModelProto.producer_version
            .Message(8, o => o.String(1, "").Int(2, Opset))       // ModelProto.opset_import: OperatorSetIdProto{domain, version}
            .Message(7, WriteGraph);                              // ModelProto.graph
        foreach (var (key, value) in metadata)
            model.Message(14, e => e.String(1, key).String(2, value)); // ModelProto.metadata_props: StringStringEntryProto{key, value}
        return model.WrittenSpan.ToArray();
    }

    private void WriteGraph(ProtoWriter g)
    {
        for (var i = 0; i < nodes.Count; i++)
        {
            var node = nodes[i];
            var nodeName = $"{node.OpType.ToLowerInvariant()}_node_{i}";
            g.Message(1, n =>                                     // GraphProto.node: NodeProto
            {
                foreach (var x in node.Inputs) n.String(1, x);    // NodeProto.input
                n.String(2, node.Output);                         // NodeProto.output
                n.String(3, nodeName);                            // NodeProto.name
                n.String(4, node.OpType);                         // NodeProto.op_type
                foreach (var a in node.Attributes)
                    n.Message(5, a.Write);                        // NodeProto.attribute: AttributeProto
            });
        }
        g.String(2, "protea");                                    // GraphProto.name
        foreach (var init in initializers)
            g.Message(5, t =>                                     // GraphProto.initializer: TensorProto
            {
                foreach (var d in init.Dims) t.Int(1, d);         // TensorProto.dims
                t.Int(2, FloatType);                              // TensorProto.data_type
                t.String(8, init.Name);                           // TensorProto.name
                if (!BitConverter.IsLittleEndian) throw new PlatformNotSupportedException("ONNX raw_data is little-endian");
                t.Bytes(9, MemoryMarshal.AsBytes(init.Data.AsSpan())); // TensorProto.raw_data
            });
        foreach (var v in inputs) g.Message(11, v.Write);         // GraphProto.input: ValueInfoProto
        foreach (var v in outputs) g.Message(12, v.Write);        // GraphProto.output: ValueInfoProto
    }

    private string Fresh(string hint)
    {
        var name = hint;
        for (var i = 1; names.Contains(name); i++) name = $"{hint}_{i}";
        names.Add(name);
        return name;
    }

    private void Claim(string name)
    {
        if (!names.Add(name)) throw new ArgumentException($"value name '{name}' is already used in the graph");
    }

    private sealed record Node(string OpType, string[] Inputs, string Output, Attribute[] Attributes);

    private sealed record Initializer(string Name, long[] Dims, float[] Data);

    private sealed record ValueInfo(string Name, object[] Shape)
    {
        public void Write(ProtoWriter v) => v
            .String(1, Name)                                       // ValueInfoProto.name
            .Message(2, type => type                               // ValueInfoProto.type: TypeProto
                .Message(1, tensor => tensor                       // TypeProto.tensor_type
                    .Int(1, FloatType)                             // TypeProto.Tensor.elem_type
                    .Message(2, shape =>                           // TypeProto.Tensor.shape: TensorShapeProto
                    {
                        foreach (var d in Shape)
                            shape.Message(1, dim =>                // TensorShapeProto.dim
                            {
                                if (d is string param) dim.String(2, param); // Dimension.dim_param
                                else dim.Int(1, Convert.ToInt64(d));         // Dimension.dim_value
                            });
                    })));
    }

    /// <summary>A node attribute: an int, a list of ints or a float (AttributeProto.AttributeType INT, INTS, FLOAT).</summary>
    public sealed record Attribute(string Name, long[]? IntList = null, long? IntValue = null, float? FloatValue = null)
    {
        public static Attribute Int(string name, long value) => new(name, IntValue: value);
        public static Attribute Ints(string name, params long[] values) => new(name, IntList: values);
        public static Attribute Float(string name, float value) => new(name, FloatValue: value);

        internal void Write(ProtoWriter a)
        {
            a.String(1, Name);                                     // AttributeProto.name
            if (FloatValue is { } f) a.Float(2, f).Int(20, 1);     // AttributeProto.f, type = FLOAT
            else if (IntValue is { } i) a.Int(3, i).Int(20, 2);    // AttributeProto.i, type = INT
            else
            {
                foreach (var v in IntList!) a.Int(8, v);              // AttributeProto.ints
                a.Int(20, 7);                                      // type = INTS
            }
        }
    }
}

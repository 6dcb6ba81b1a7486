using System.Text.Json.Nodes;
using Protea.Deploy;
using Protea.Models;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Protea.Tests.Support;

/// <summary>
/// A test-only head that reads the backbone's feature map, as part-prototype heads will: a 1x1
/// convolution gives a class score at every position, the logit is the best position's score times a
/// fixed scale. The scale lives in the head's own model.json section, so a load that lost the section
/// would change the logits. One file and one registration line (<see cref="Register"/>), like any head.
/// </summary>
public sealed class SpatialMaxHead : Head
{
    public const string Name = "test-spatial-max";
    public const double DefaultScale = 2.0;

    public static readonly HeadSpec Spec = new(Name, Consumes.FeatureMap,
        ctx => new SpatialMaxHead(ctx.Channels, ctx.NumClasses, (double?)ctx.Config?["scale"] ?? DefaultScale))
    {
        Emit = (g, head, input, output) => ((SpatialMaxHead)head).Emit(g, input, output),
        Describe = head => new JsonObject { ["scale"] = ((SpatialMaxHead)head).Scale },
    };

    /// <summary>The same head under another name with no ONNX emission, for the "no ONNX export" path.</summary>
    public static readonly HeadSpec NoOnnxSpec = Spec with
    {
        Name = Name + "-no-onnx",
        Create = ctx => new SpatialMaxHead(ctx.Channels, ctx.NumClasses, (double?)ctx.Config?["scale"] ?? DefaultScale, Name + "-no-onnx"),
        Emit = null,
    };

    /// <summary>The registration lines; idempotent, so every test that needs the heads may call it.</summary>
    public static void Register()
    {
        Registry.Heads.Register(Spec);
        Registry.Heads.Register(NoOnnxSpec);
    }

    private readonly Conv2d conv;
    private readonly string kind;

    public SpatialMaxHead(long channels, long numClasses, double scale, string kind = Name) : base("head")
    {
        conv = nn.Conv2d(channels, numClasses, 1);
        Scale = scale;
        this.kind = kind;
        RegisterComponents();
    }

    public double Scale { get; }

    public override string Kind => kind;
    public override long NumClasses => conv.weight!.shape[0];
    public override long EmbeddingDim => conv.weight!.shape[1];
    public override Consumes Consumes => Consumes.FeatureMap;

    public override Tensor forward(Tensor featureMap)
    {
        using var scope = NewDisposeScope();
        using var s = Scale.ToScalar();
        // Not mul_: amax's backward needs its output as it was.
        return conv.forward(featureMap).amax([2, 3]).mul(s).MoveToOuterDisposeScope();
    }

    private void Emit(OnnxGraph g, string featureMap, string output)
    {
        var scores = g.Op("Conv", [featureMap, g.Constant("head.conv.weight", conv.weight!), g.Constant("head.conv.bias", conv.bias!)],
            [OnnxGraph.Attribute.Ints("kernel_shape", 1, 1)]);
        var best = g.Op("Flatten", [g.Op("GlobalMaxPool", [scores])], [OnnxGraph.Attribute.Int("axis", 1)]);
        g.Op("Mul", [best, g.Constant("head.scale", [(float)Scale], 1)], output: output);
    }
}

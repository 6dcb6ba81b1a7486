using System.Text.Json.Nodes;
using Protea.Deploy;
using Protea.Prototypes;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Protea.Models;

/// <summary>
/// Part prototypes, "this looks like that" (ProtoPNet, Chen et al. 2019): on the backbone's feature map
/// an add-on of 1x1 convolutions (ReLU, then a sigmoid) gives D channels per cell; each of the m
/// prototypes per class is a 1x1xD vector; its similarity to an image is
/// log((d + 1) / (d + 1e-4)) of the smallest squared L2 distance d to any cell; the logits are the
/// similarities times the last layer, which starts at +1 for a prototype's own class and -0.5 for the
/// others. Parameter names follow the PyTorch reference (prototype_vectors, last_layer).
/// </summary>
public sealed class PartsHead : Head
{
    public const string Name = "parts";

    /// <summary>The epsilon of the similarity log((d + 1) / (d + eps)).</summary>
    public const double Epsilon = 1e-4;

    public static readonly HeadSpec Spec = new(Name, Consumes.FeatureMap, ctx => FromConfig(ctx))
    {
        Emit = (g, head, input, output) => ((PartsHead)head).Emit(g, input, output),
        Describe = head => ((PartsHead)head).Describe(),
        Objectives = Protea.Training.Objectives.PartsCosts.For,
        ParameterGroups = o => ParameterGroups(o.Parts ?? new PartsOptions()),
        Stages = () => [new Protea.Training.Stages.PartsWarmupStage(), new Protea.Training.Stages.PrototypePushStage()],
        SaveFiles = (head, dir) => ((PartsHead)head).Gallery?.Save(dir),
        LoadFiles = (head, dir) => ((PartsHead)head).LoadGallery(dir),
        Configure = o => new JsonObject
        {
            ["prototypes_per_class"] = (o.Parts ?? new PartsOptions()).PrototypesPerClass,
            ["prototype_dim"] = (o.Parts ?? new PartsOptions()).PrototypeDim,
        },
    };

    // The head's own optimizer groups: the prototypes at their own rate without weight decay, and the last
    // layer at its own rate (frozen at 0: it then learns only in the last-layer stage).
    private static Protea.Training.ParameterGroup[] ParameterGroups(PartsOptions o) =>
    [
        new("head.prototype_vectors") { LearningRateScale = o.PrototypeLearningRateScale, WeightDecay = 0 },
        .. o.LastLayerLearningRateScale == 1 ? Array.Empty<Protea.Training.ParameterGroup>()
            : [o.LastLayerLearningRateScale == 0 ? Protea.Training.ParameterGroup.Freeze("head.last_layer.weight")
                : new("head.last_layer.weight") { LearningRateScale = o.LastLayerLearningRateScale }],
    ];

    private readonly Conv2d add_on_1;
    private readonly Conv2d add_on_2;
    private readonly Parameter prototype_vectors;
    private readonly Linear last_layer;
    private readonly int[] prototypeClasses;
    private readonly PrototypeSource?[] sources;

    // The last forward's smallest distances, keyed by the feature map they came from, so the cluster and
    // separation costs of a training step reuse the forward's graph instead of running the add-on again.
    private Tensor? lastFeatureMap;
    private Tensor? lastMinDistances;

    /// <param name="prototypeClasses">The class of each prototype (P entries, every class at least once).</param>
    public PartsHead(long channels, long numClasses, long prototypeDim, int[] prototypeClasses, PrototypeSource?[]? sources = null) : base("head")
    {
        if (prototypeClasses.Length == 0 || prototypeClasses.Any(c => c < 0 || c >= numClasses))
            throw new ArgumentException($"prototype classes must be in [0, {numClasses})");
        this.prototypeClasses = prototypeClasses;
        this.sources = sources ?? new PrototypeSource?[prototypeClasses.Length];
        if (this.sources.Length != prototypeClasses.Length)
            throw new ArgumentException("one source per prototype");
        add_on_1 = nn.Conv2d(channels, prototypeDim, 1);
        add_on_2 = nn.Conv2d(prototypeDim, prototypeDim, 1);
        // As the reference: prototypes uniform in [0, 1), where the add-on's sigmoid outputs live.
        prototype_vectors = new Parameter(rand(prototypeClasses.Length, prototypeDim, 1, 1));
        last_layer = nn.Linear(prototypeClasses.Length, numClasses, hasBias: false);
        using (no_grad())
        using (var identity = ClassIdentity())
            last_layer.weight!.copy_(identity.mul(1.5).sub(0.5));
        RegisterComponents();
    }

    public static PartsHead PerClass(long channels, long numClasses, long prototypeDim, int prototypesPerClass) =>
        new(channels, numClasses, prototypeDim, Enumerable.Range(0, (int)numClasses).SelectMany(c => Enumerable.Repeat(c, prototypesPerClass)).ToArray());

    public override string Kind => Name;
    public override long NumClasses => last_layer.weight!.shape[0];
    public override long EmbeddingDim => add_on_1.weight!.shape[1];
    public override Consumes Consumes => Consumes.FeatureMap;

    public long PrototypeDim => prototype_vectors.shape[1];
    public int PrototypeCount => prototypeClasses.Length;

    /// <summary>The class each prototype belongs to.</summary>
    public IReadOnlyList<int> PrototypeClasses => prototypeClasses;

    /// <summary>Where each prototype was pushed from; null before its first push.</summary>
    public IReadOnlyList<PrototypeSource?> Sources => sources;

    /// <summary>What training's push and hygiene did (model.json's "training" entry of the head section), or null.</summary>
    public PartsTrainingSummary? Summary { get; set; }

    /// <summary>Each prototype's source image and activation map, captured at push time (saved as prototypes.safetensors), or null before a push.</summary>
    public PrototypeGallery? Gallery { get; set; }

    // The SHA-256 of prototypes.safetensors read from model.json, checked when the folder's file is loaded.
    private string? gallerySha256;

    private void LoadGallery(string dir)
    {
        if (gallerySha256 is { } sha) Gallery = PrototypeGallery.Load(dir, sha, PrototypeCount);
    }

    public Parameter PrototypeVectors => prototype_vectors;
    public Parameter LastLayerWeight => last_layer.weight!;

    /// <summary>[K, P]: 1 where prototype j belongs to class k.</summary>
    public Tensor ClassIdentity()
    {
        using var scope = NewDisposeScope();
        using var classes = tensor(prototypeClasses.Select(c => (long)c).ToArray());
        return nn.functional.one_hot(classes, NumClasses).T.to(float32).contiguous().MoveToOuterDisposeScope();
    }

    internal void SetSource(int prototype, PrototypeSource source) => sources[prototype] = source;

    /// <summary>The add-on's output [N, D, h, w], in [0, 1].</summary>
    public Tensor Features(Tensor featureMap)
    {
        using var scope = NewDisposeScope();
        var x = nn.functional.relu(ConvLayoutGuard.Current.Forward(add_on_1, featureMap));
        return nn.functional.sigmoid(ConvLayoutGuard.Current.Forward(add_on_2, x)).MoveToOuterDisposeScope();
    }

    /// <summary>Squared L2 distances [N, P, h, w] from features [N, D, h, w]: ||z||^2 - 2 z.p + ||p||^2, clamped at 0.</summary>
    public Tensor DistancesFromFeatures(Tensor z)
    {
        using var scope = NewDisposeScope();
        var (n, h, w) = (z.shape[0], z.shape[2], z.shape[3]);
        var flat = z.flatten(2);                                                  // [N, D, hw]
        var p = prototype_vectors.flatten(1);                                     // [P, D]
        var zz = flat.pow(2).sum(1, keepdim: true);                               // [N, 1, hw]
        var zp = matmul(p, flat);                                                 // [N, P, hw]
        var pp = p.pow(2).sum(1).view(1, -1, 1);                                  // [1, P, 1]
        return nn.functional.relu(zz.sub(zp.mul(2)).add(pp)).view(n, -1, h, w).MoveToOuterDisposeScope();
    }

    /// <summary>Distances [N, P, h, w] from the backbone's feature map.</summary>
    public Tensor Distances(Tensor featureMap)
    {
        using var scope = NewDisposeScope();
        return DistancesFromFeatures(Features(featureMap)).MoveToOuterDisposeScope();
    }

    /// <summary>Each prototype's smallest distance to any cell [N, P]; in training, reuses the last forward's when given the same feature map.</summary>
    public Tensor MinDistances(Tensor featureMap)
    {
        if (training && ReferenceEquals(featureMap, lastFeatureMap) && lastMinDistances is { IsInvalid: false } cached)
            return cached;
        using var d = Distances(featureMap);
        var min = d.amin([2, 3]);
        if (training) (lastFeatureMap, lastMinDistances) = (featureMap, min);
        return min;
    }

    /// <summary>log((d + 1) / (d + 1e-4)): large when a prototype is close, near 0 when far.</summary>
    public static Tensor Similarity(Tensor distances)
    {
        using var scope = NewDisposeScope();
        using var one = 1.0.ToScalar();
        using var eps = Epsilon.ToScalar();
        return distances.add(one).div(distances.add(eps)).log().MoveToOuterDisposeScope();
    }

    /// <summary>Logits from each prototype's similarity [N, P].</summary>
    public Tensor Logits(Tensor similarities) => last_layer.forward(similarities);

    public override Tensor forward(Tensor featureMap)
    {
        using var scope = NewDisposeScope();
        var min = MinDistances(featureMap);
        var logits = Logits(Similarity(min)).MoveToOuterDisposeScope();
        // In training the cached distances live in the caller's (the batch's) scope, as the feature map does.
        if (training) min.MoveToOuterDisposeScope();
        return logits;
    }

    /// <summary>A head with only the prototypes <paramref name="keep"/> (in that order) and their last-layer columns; <paramref name="lastLayer"/> [K, kept] replaces them when given.</summary>
    public PartsHead Select(int[] keep, Tensor? lastLayer = null)
    {
        var head = new PartsHead(EmbeddingDim, NumClasses, PrototypeDim, keep.Select(j => prototypeClasses[j]).ToArray(), keep.Select(j => sources[j]).ToArray())
        {
            Gallery = Gallery?.Select(keep),
        };
        using var no = no_grad();
        using var index = tensor(keep.Select(j => (long)j).ToArray());
        head.add_on_1.weight!.copy_(add_on_1.weight!);
        head.add_on_1.bias!.copy_(add_on_1.bias!);
        head.add_on_2.weight!.copy_(add_on_2.weight!);
        head.add_on_2.bias!.copy_(add_on_2.bias!);
        using (var p = prototype_vectors.index_select(0, index)) head.prototype_vectors.copy_(p);
        using (var w = last_layer.weight!.index_select(1, index)) head.last_layer.weight!.copy_(lastLayer ?? w);
        return head;
    }

    private static PartsHead FromConfig(HeadContext ctx)
    {
        var config = ctx.Config;
        var dim = (int?)config?["prototype_dim"] ?? new PartsOptions().PrototypeDim;
        if (config?["prototype_classes"] is JsonArray classes)
        {
            var sources = config["sources"] is JsonArray s ? s.Select(ReadSource).ToArray() : null;
            return new PartsHead(ctx.Channels, ctx.NumClasses, dim, classes.Select(c => (int)c!).ToArray(), sources)
            {
                gallerySha256 = (string?)config["pictures_sha256"],
                Summary = config["training"] is JsonObject t ? ReadSummary(t) : null,
            };
        }
        return PerClass(ctx.Channels, ctx.NumClasses, dim, (int?)config?["prototypes_per_class"] ?? new PartsOptions().PrototypesPerClass);
    }

    private static PartsTrainingSummary ReadSummary(JsonObject t) => new((int)t["pushed"]!, (int)t["distinct_after_push"]!, (int)t["merged"]!, (int)t["pruned"]!,
        t["per_class"]!.AsArray().Select(c => (int)c!).ToArray(), (double)t["push_seconds"]!, (double)t["last_layer_seconds"]!)
    {
        LastLayerSteps = (int?)t["last_layer_steps"],
        LastLayerConverged = (bool?)t["last_layer_converged"],
    };

    private static PrototypeSource? ReadSource(JsonNode? node) => node is JsonObject o && o["box"] is JsonArray b && o["cell"] is JsonArray c
        ? new PrototypeSource((string)o["item_id"]!, new PatchBox((int)b[0]!, (int)b[1]!, (int)b[2]!, (int)b[3]!), (int)c[0]!, (int)c[1]!)
        : null;

    private JsonObject Describe() => new()
    {
        ["training"] = Summary is not { } t ? null : new JsonObject
        {
            ["pushed"] = t.Pushed,
            ["distinct_after_push"] = t.DistinctAfterPush,
            ["merged"] = t.Merged,
            ["pruned"] = t.Pruned,
            ["per_class"] = new JsonArray(t.PerClass.Select(c => (JsonNode)c).ToArray()),
            ["push_seconds"] = Math.Round(t.PushSeconds, 3),
            ["last_layer_seconds"] = Math.Round(t.LastLayerSeconds, 3),
            ["last_layer_steps"] = t.LastLayerSteps,
            ["last_layer_converged"] = t.LastLayerConverged,
        },
        ["prototype_dim"] = (int)PrototypeDim,
        ["pictures_sha256"] = Gallery?.Sha256,
        ["prototype_classes"] = new JsonArray(prototypeClasses.Select(c => (JsonNode)c).ToArray()),
        ["sources"] = new JsonArray(sources.Select(s => s is null ? null : (JsonNode)new JsonObject
        {
            ["item_id"] = s.ItemId,
            ["box"] = new JsonArray(s.Box.X0, s.Box.Y0, s.Box.X1, s.Box.Y1),
            ["cell"] = new JsonArray(s.Row, s.Col),
        }).ToArray()),
    };

    /// <summary>
    /// The same maths as ONNX nodes, with a third graph output "similarity_maps" [batch, P, h, w] (the
    /// similarity at every cell; its spatial max is what the last layer reads).
    /// </summary>
    private void Emit(OnnxGraph g, string featureMap, string output)
    {
        var k1 = new[] { OnnxGraph.Attribute.Ints("kernel_shape", 1, 1) };
        var x = g.Op("Relu", [g.Op("Conv", [featureMap, g.Constant("head.add_on_1.weight", add_on_1.weight!), g.Constant("head.add_on_1.bias", add_on_1.bias!)], k1)]);
        var z = g.Op("Sigmoid", [g.Op("Conv", [x, g.Constant("head.add_on_2.weight", add_on_2.weight!), g.Constant("head.add_on_2.bias", add_on_2.bias!)], k1)]);
        var zz = g.Op("Conv", [g.Op("Mul", [z, z]), g.Constant("head.ones", Enumerable.Repeat(1f, (int)PrototypeDim).ToArray(), 1, PrototypeDim, 1, 1)], k1);
        var zp = g.Op("Conv", [z, g.Constant("head.prototype_vectors", prototype_vectors)], k1);
        float[] pp;
        using (no_grad())
        using (var norms = prototype_vectors.flatten(1).pow(2).sum(1))
            pp = norms.ToFloats();
        var d = g.Op("Relu", [g.Op("Add", [g.Op("Sub", [zz, g.Op("Mul", [zp, g.Constant("head.two", [2f], 1)])]), g.Constant("head.prototype_norms", pp, 1, PrototypeCount, 1, 1)])]);
        var similarity = g.Op("Log", [g.Op("Div", [g.Op("Add", [d, g.Constant("head.one", [1f], 1)]), g.Op("Add", [d, g.Constant("head.epsilon", [(float)Epsilon], 1)])])], output: "similarity_maps");
        var best = g.Op("Flatten", [g.Op("GlobalMaxPool", [similarity])], [OnnxGraph.Attribute.Int("axis", 1)]);
        g.Op("Gemm", [best, g.Constant("head.last_layer.weight", last_layer.weight!)], [OnnxGraph.Attribute.Int("transB", 1)], output: output);
        g.Output("similarity_maps", "batch", (long)PrototypeCount, "h", "w");
    }
}

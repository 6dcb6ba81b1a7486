using System.Text.Json;
using Protea.Deploy;
using Protea.IO;
using Protea.Models;
using TorchSharp;
using static TorchSharp.torch;

namespace Protea.Mil;

/// <summary>mil.json: what turns a patch encoder into a bag model.</summary>
public sealed record MilDescription
{
    public const string FileName = "mil.json";
    public const string WeightsFileName = "mil.safetensors";

    public required string Pooling { get; init; }
    public required int Patch { get; init; }
    public required int Stride { get; init; }
    public string? Background { get; init; }
    public required IReadOnlyList<string> ClassNames { get; init; }
    public required MilOptions Options { get; init; }
    public IReadOnlyDictionary<string, double> Metrics { get; init; } = new Dictionary<string, double>();

    public PatchGrid Grid => PatchGrid.Create(Patch, Stride);
    public BackgroundFilter? BackgroundFilter => Mil.BackgroundFilter.Parse(Background);
}

/// <summary>
/// A trained bag model in a folder: the patch encoder is an ordinary model (model.safetensors +
/// model.json: backbone, the instance-level head, input normalisation), so `protea export` writes its
/// model.onnx and inference runs it on the fast engine; the pooling head and bag classifier live
/// beside it in mil.safetensors, described by mil.json.
/// </summary>
public sealed class MilModel(MilDescription description, ModelDescription encoderDescription, MilNetwork network) : IDisposable
{
    public MilDescription Description { get; } = description;
    public ModelDescription EncoderDescription { get; } = encoderDescription;
    public MilNetwork Network { get; } = network;

    /// <summary>True when <paramref name="dir"/> holds a bag model (its mil.json).</summary>
    public static bool IsBagModel(string dir) => File.Exists(Path.Combine(dir, MilDescription.FileName));

    public void Save(string dir)
    {
        Directory.CreateDirectory(dir);
        // The encoder is saved through ModelBundle without handing it over (the bundle would dispose it).
        new ModelBundle(EncoderDescription, Network.Encoder).Save(dir);
        SafeTensors.Write(Path.Combine(dir, MilDescription.WeightsFileName), Network.BagState(), new Dictionary<string, string> { ["format"] = "pt" });
        AtomicFile.WriteAllText(Path.Combine(dir, MilDescription.FileName), JsonSerializer.Serialize(Description, ProteaJson.Options));
    }

    public static MilModel Load(string dir)
    {
        var path = Path.Combine(dir, MilDescription.FileName);
        if (!File.Exists(path))
            throw new ProteaException($"{dir}: not a bag model (no {MilDescription.FileName})", "model");
        MilDescription description;
        try
        {
            description = JsonSerializer.Deserialize<MilDescription>(File.ReadAllText(path), ProteaJson.Options)
                ?? throw new ProteaException($"{path}: empty", "model");
        }
        catch (JsonException e)
        {
            throw new ProteaException($"{path}: not a valid bag model description ({e.Message.Split('\n')[0]})", "model");
        }
        var encoder = ModelBundle.Load(dir);
        var pooling = MilPoolings.All.Get(description.Pooling).Create(encoder.Model.Backbone.EmbeddingDim);
        var network = new MilNetwork(encoder.Model, pooling, description.ClassNames.Count);
        var weights = SafeTensors.Read(Path.Combine(dir, MilDescription.WeightsFileName));
        try
        {
            using var noGrad = no_grad();
            foreach (var (name, target) in network.BagState())
            {
                if (!weights.TryGetValue(name, out var t) || !t.shape.SequenceEqual(target.shape))
                    throw new ProteaException($"{dir}/{MilDescription.WeightsFileName}: tensor '{name}' is missing or mis-shaped; the file belongs to another bag model", "model");
                target.copy_(t);
            }
        }
        finally
        {
            foreach (var t in weights.Values) t.Dispose();
        }
        network.eval();
        return new MilModel(description, encoder.Description, network);
    }

    /// <summary>The encoder as an inference engine over the network in memory (torch), for evaluation right after training.</summary>
    public IInferenceEngine TorchEncoder() => new TorchEngine(new ModelBundle(EncoderDescription, Network.Encoder));

    /// <summary>
    /// Instance embeddings [n, D] and instance logits [n, K] of one bag, the patches stacked at most
    /// <paramref name="budget"/> at a time so memory stays bounded however large the image.
    /// </summary>
    public static (Tensor Embeddings, Tensor InstanceLogits) Encode(IInferenceEngine engine, BagImage bag, int budget)
    {
        var embeddings = new float[bag.Count * engine.Description.Embedding!.Dim];
        var logits = new float[bag.Count * engine.Description.NumClasses];
        int d = (int)engine.Description.Embedding.Dim, k = engine.Description.NumClasses;
        for (var start = 0; start < bag.Count; start += budget)
        {
            var count = Math.Min(budget, bag.Count - start);
            using var patches = bag.Stack(start, count);
            var output = engine.Run(patches);
            output.Embeddings.AsSpan(0, count * d).CopyTo(embeddings.AsSpan(start * d));
            output.Logits.AsSpan(0, count * k).CopyTo(logits.AsSpan(start * k));
        }
        return (tensor(embeddings, [bag.Count, d]), tensor(logits, [bag.Count, k]));
    }

    public void Dispose() => Network.Dispose();
}

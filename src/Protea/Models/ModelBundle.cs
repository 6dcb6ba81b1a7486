using System.Text.Json;
using Protea.IO;
using TorchSharp;
using static TorchSharp.torch;

namespace Protea.Models;

/// <summary>
/// A saved model: DIR/model.safetensors (every tensor under PyTorch-style names) and DIR/model.json
/// (<see cref="ModelDescription"/>). Loading checks the format version and every tensor's name and
/// shape; each file is written atomically. What the network itself determines (the embedding, the
/// components' own sections) is taken from the model, so model.json cannot disagree with it.
/// </summary>
public sealed class ModelBundle(ModelDescription description, Classifier model) : IDisposable
{
    public const string WeightsFile = "model.safetensors";
    public const string DescriptionFile = "model.json";

    public ModelDescription Description { get; } = Complete(description, model);
    public Classifier Model { get; } = model;

    /// <summary>The folder <see cref="Load"/> read this bundle from, or null for a bundle built in memory.</summary>
    public string? LoadedFrom { get; private init; }

    public static string WeightsPath(string dir) => Path.Combine(dir, WeightsFile);
    public static string DescriptionPath(string dir) => Path.Combine(dir, DescriptionFile);

    /// <summary>Writes both files atomically (and the head's own files, <see cref="HeadSpec.SaveFiles"/>); model.json records the SHA-256 of the weights file it belongs to.</summary>
    public void Save(string dir)
    {
        Directory.CreateDirectory(dir);
        if (Registry.Heads.TryGet(Description.Head, out var spec) && spec.Name == Model.Head.Kind) spec.SaveFiles?.Invoke(Model.Head, dir);
        SafeTensors.Write(WeightsPath(dir), Model.state_dict(),
            new Dictionary<string, string> { ["format"] = "pt", ["protea_format_version"] = Description.FormatVersion.ToString() });
        // A calibrated unknown scorer stays valid only for the weights it was calibrated with: it is kept
        // (its statistics file copied along) when the weights saved are those the bundle was loaded with.
        // A kept training index (train.index) belongs to the folder it was built in and is dropped.
        var sha = WeightsSha256(dir);
        var unknown = KeepsUnknown(dir, sha) ? Description.Unknown : null;
        var described = Description with { WeightsSha256 = sha, Unknown = unknown, TrainingIndex = null };
        AtomicFile.WriteAllText(DescriptionPath(dir), JsonSerializer.Serialize(described, ProteaJson.Options));
    }

    private bool KeepsUnknown(string dir, string sha)
    {
        if (Description.Unknown is not { } unknown || LoadedFrom is null || Description.WeightsSha256 is not { } loaded
            || !string.Equals(loaded, sha, StringComparison.OrdinalIgnoreCase))
            return false;
        if (unknown.TensorsSha256 is null) return true;
        var source = Discovery.UnknownDetector.TensorsPath(LoadedFrom);
        var target = Discovery.UnknownDetector.TensorsPath(dir);
        if (!File.Exists(source)) return false;
        if (Path.GetFullPath(source) != Path.GetFullPath(target))
            AtomicFile.Write(target, stream =>
            {
                using var from = File.OpenRead(source);
                from.CopyTo(stream);
            });
        return true;
    }

    /// <summary>Lower-case hex SHA-256 of DIR/model.safetensors (about 0.1 s for ResNet-18's 45 MB).</summary>
    public static string WeightsSha256(string dir)
    {
        var path = WeightsPath(dir);
        if (!File.Exists(path))
            throw new ProteaException($"{path}: file not found; {dir} is not a complete Protea model directory", "model");
        using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16);
        return Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(stream));
    }

    /// <summary>Refuses a weights file whose bytes differ from those model.json was saved with.</summary>
    private static void VerifyWeights(string dir, ModelDescription d)
    {
        if (d.WeightsSha256 is not { } expected) return;
        if (!string.Equals(WeightsSha256(dir), expected, StringComparison.OrdinalIgnoreCase))
            throw new ProteaException($"{WeightsPath(dir)}: its SHA-256 differs from the one {DescriptionFile} recorded at save, so the file was damaged or replaced; restore both files from the same save (or retrain)", "model");
    }

    public static ModelDescription ReadDescription(string dir)
    {
        var path = DescriptionPath(dir);
        if (!Directory.Exists(dir))
            throw new ProteaException($"{dir}: no such directory; a model directory holds {DescriptionFile} and {WeightsFile} as training writes them", "model");
        if (!File.Exists(path))
            throw new ProteaException($"{path}: not found; {dir} is not a Protea model directory", "model");
        ModelDescription? d;
        try
        {
            d = JsonSerializer.Deserialize<ModelDescription>(File.ReadAllText(path), ProteaJson.Options);
        }
        catch (JsonException e)
        {
            throw new ProteaException($"{path}: not a valid model description ({e.Message.Split('\n')[0]})");
        }
        if (d is null)
            throw new ProteaException($"{path}: empty model description");
        if (d.FormatVersion > ModelDescription.CurrentFormatVersion || d.FormatVersion < 1)
            throw new ProteaException($"{path}: format version {d.FormatVersion} is not supported (this Protea reads version {ModelDescription.CurrentFormatVersion}); upgrade Protea");
        return d;
    }

    /// <param name="verifyWeights">Check model.safetensors against the SHA-256 in model.json (skip only for huge files read from trusted storage).</param>
    public static ModelBundle Load(string dir, bool verifyWeights = true)
    {
        var description = ReadDescription(dir);
        if (verifyWeights) VerifyWeights(dir, description);
        // Named here, not as errors in the architecture/head settings: the names came from model.json.
        if (!Registry.Backbones.TryGet(description.Architecture, out _) || !Registry.Heads.TryGet(description.Head, out _))
            throw new ProteaException($"{DescriptionPath(dir)}: architecture '{description.Architecture}' with head '{description.Head}' is not one this Protea builds ({string.Join(", ", Architectures.BackboneNames)} x {string.Join(", ", Architectures.HeadNames)}); upgrade Protea");
        Classifier model;
        try
        {
            model = Architectures.Create(description);
        }
        catch (ProteaException wrong) when (wrong.Field is not null)
        {
            // The stem or the data kind came from model.json, not from a setting the user can change.
            throw new ProteaException($"{DescriptionPath(dir)}: {wrong.Message}");
        }
        if (description.Embedding is { } e && e.Dim != model.Backbone.EmbeddingDim)
        {
            model.Dispose();
            throw new ProteaException($"{DescriptionPath(dir)}: the embedding is {e.Dim}-d, but a {description.Architecture} for this input gives {model.Backbone.EmbeddingDim}-d embeddings; the file was edited or saved by another version");
        }
        var path = WeightsPath(dir);
        try
        {
            var tensors = SafeTensors.Read(path);
            try
            {
                LoadInto(model, tensors, path);
            }
            finally
            {
                foreach (var t in tensors.Values) t.Dispose();
            }
            if (Registry.Heads.TryGet(description.Head, out var spec) && spec.Name == model.Head.Kind) spec.LoadFiles?.Invoke(model.Head, dir);
        }
        catch
        {
            // A refused file must not leave a half-built network holding native memory until the finaliser runs.
            model.Dispose();
            throw;
        }
        model.eval();
        return new ModelBundle(description, model) { LoadedFrom = dir };
    }

    /// <summary>Copies tensors into the module's state, refusing a missing, unexpected or mis-shaped tensor.</summary>
    public static void LoadInto(nn.Module module, IReadOnlyDictionary<string, Tensor> tensors, string source)
    {
        var state = module.state_dict();
        foreach (var (name, target) in state)
        {
            if (!tensors.TryGetValue(name, out var t))
                throw new ProteaException($"{source}: tensor '{name}' is missing (expected shape [{string.Join(", ", target.shape)}])");
            if (!t.shape.SequenceEqual(target.shape))
                throw new ProteaException($"{source}: tensor '{name}' has shape [{string.Join(", ", t.shape)}], the model needs [{string.Join(", ", target.shape)}]");
        }
        var extra = tensors.Keys.FirstOrDefault(k => !state.ContainsKey(k));
        if (extra is not null)
            throw new ProteaException($"{source}: unexpected tensor '{extra}' (the file was saved from a different architecture)");
        using var noGrad = no_grad();
        foreach (var (name, target) in state)
            target.copy_(tensors[name]);
    }

    /// <summary>The description with what the network determines filled in from it: the embedding and the components' sections.</summary>
    private static ModelDescription Complete(ModelDescription d, Classifier model)
    {
        var backbone = Registry.Backbones.TryGet(d.Architecture, out var b) ? b : null;
        var head = Registry.Heads.TryGet(d.Head, out var h) && h.Name == model.Head.Kind ? h : null;
        return d with
        {
            Embedding = new EmbeddingDescription(model.Backbone.EmbeddingDim, Classifier.EmbeddingIsL2Normalized),
            ArchitectureConfig = backbone?.Describe?.Invoke(model.Backbone) ?? d.ArchitectureConfig,
            HeadConfig = head?.Describe?.Invoke(model.Head) ?? d.HeadConfig,
        };
    }

    public void Dispose() => Model.Dispose();
}

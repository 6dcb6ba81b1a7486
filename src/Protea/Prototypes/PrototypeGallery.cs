using System.Security.Cryptography;
using Protea.Data;
using Protea.IO;
using Protea.Models;
using TorchSharp;
using static TorchSharp.torch;

namespace Protea.Prototypes;

/// <summary>
/// One prototype's picture, kept with the model: its source training image as the model takes it
/// (uint8 [C, H, W], row-major; the source patch is <see cref="PrototypeSource.Box"/> of it) and the
/// prototype's activation over that image (the similarity map upsampled bilinearly to H x W, scaled to
/// 0..255 between the map's smallest and largest value).
/// </summary>
public sealed record PrototypePicture(byte[] Image, byte[] Activation);

/// <summary>
/// The pictures of a parts model's prototypes, captured at push time so that explanations and the
/// gallery work after reload without the training data. Saved beside the weights as
/// DIR/prototypes.safetensors (tensors "images" uint8 [P, C, H, W] and "activations" uint8 [P, H, W]),
/// written atomically; its SHA-256 is in model.json (the head section's "pictures_sha256") and checked on load.
/// </summary>
public sealed class PrototypeGallery
{
    public const string FileName = "prototypes.safetensors";

    private byte[]? bytes;

    public PrototypeGallery(int channels, int height, int width, IReadOnlyList<PrototypePicture> pictures)
    {
        (Channels, Height, Width, Pictures) = (channels, height, width, pictures);
        if (pictures.Any(p => p.Image.Length != channels * height * width || p.Activation.Length != height * width))
            throw new ArgumentException($"every picture must be {channels} x {height} x {width}");
    }

    public int Channels { get; }
    public int Height { get; }
    public int Width { get; }

    /// <summary>One picture per prototype, in the head's prototype order.</summary>
    public IReadOnlyList<PrototypePicture> Pictures { get; }

    public static string PathIn(string dir) => Path.Combine(dir, FileName);

    /// <summary>Lower-case hex SHA-256 of the file's bytes (the file is deterministic).</summary>
    public string Sha256 => Convert.ToHexStringLower(SHA256.HashData(Bytes()));

    /// <summary>The pictures of the prototypes <paramref name="keep"/>, in that order.</summary>
    public PrototypeGallery Select(IReadOnlyList<int> keep) => new(Channels, Height, Width, keep.Select(j => Pictures[j]).ToArray());

    /// <summary>Writes DIR/prototypes.safetensors atomically.</summary>
    public void Save(string dir) => AtomicFile.Write(PathIn(dir), s => s.Write(Bytes()));

    /// <summary>
    /// Reads DIR/prototypes.safetensors, refusing a missing file, one whose SHA-256 is not <paramref name="sha256"/>
    /// (damaged or replaced), or one that does not hold <paramref name="count"/> pictures.
    /// </summary>
    public static PrototypeGallery Load(string dir, string sha256, int count)
    {
        var path = PathIn(dir);
        if (!File.Exists(path))
            throw new ProteaException($"{path}: file not found; model.json's prototypes need their pictures (copy the whole model folder, or train again)", "model");
        var data = File.ReadAllBytes(path);
        if (!string.Equals(Convert.ToHexStringLower(SHA256.HashData(data)), sha256, StringComparison.OrdinalIgnoreCase))
            throw new ProteaException($"{path}: its SHA-256 differs from the one model.json recorded at save, so the file was damaged or replaced; restore it from the same save (or train again)", "model");
        var tensors = SafeTensors.Read(path);
        try
        {
            if (!tensors.TryGetValue("images", out var images) || !tensors.TryGetValue("activations", out var activations)
                || images.dtype != ScalarType.Byte || activations.dtype != ScalarType.Byte || images.dim() != 4 || activations.dim() != 3
                || images.shape[0] != count || activations.shape[0] != count || !images.shape[2..].SequenceEqual(activations.shape[1..]))
                throw new ProteaException($"{path}: expected uint8 'images' [{count}, C, H, W] and 'activations' [{count}, H, W]", "model");
            var (c, h, w) = ((int)images.shape[1], (int)images.shape[2], (int)images.shape[3]);
            var img = images.data<byte>().ToArray();
            var act = activations.data<byte>().ToArray();
            var pictures = Enumerable.Range(0, count).Select(j => new PrototypePicture(img[(j * c * h * w)..((j + 1) * c * h * w)], act[(j * h * w)..((j + 1) * h * w)])).ToArray();
            return new PrototypeGallery(c, h, w, pictures) { bytes = data };
        }
        finally
        {
            foreach (var t in tensors.Values) t.Dispose();
        }
    }

    /// <summary>
    /// After a push: each prototype's source image (<paramref name="items"/>[j], an index into
    /// <paramref name="train"/>) and the prototype's similarity map over it, upsampled to the input's size.
    /// </summary>
    public static PrototypeGallery Capture(Classifier model, PartsHead head, Dataset train, InputNormalization normalization, IReadOnlyList<int> items)
    {
        var (c, h, w) = ((int)train.ExampleShape[0], (int)train.ExampleShape[1], (int)train.ExampleShape[2]);
        var distinct = items.Distinct().ToArray();
        var pictures = new PrototypePicture[items.Count];
        var wasTraining = model.training;
        model.eval();
        try
        {
            using var no = no_grad();
            for (var start = 0; start < distinct.Length; start += PrototypePush.DefaultBatchSize)
            {
                using var scope = NewDisposeScope();
                var chunk = distinct[start..Math.Min(distinct.Length, start + PrototypePush.DefaultBatchSize)];
                var raw = train.Gather(chunk.Select(i => (long)i).ToArray());
                var images = raw.to(ScalarType.Byte).contiguous().data<byte>().ToArray();
                var maps = PartsHead.Similarity(head.Distances(model.Backbone.FeatureMap(normalization.Apply(raw)))).contiguous();
                var (mh, mw) = ((int)maps.shape[2], (int)maps.shape[3]);
                var all = maps.ToFloats();
                for (var j = 0; j < items.Count; j++)
                {
                    var k = Array.IndexOf(chunk, items[j]);
                    if (k < 0) continue;
                    var map = PrototypeExplainer.Upsample(all.AsSpan((k * head.PrototypeCount + j) * mh * mw, mh * mw), mh, mw, h, w);
                    pictures[j] = new PrototypePicture(images[(k * c * h * w)..((k + 1) * c * h * w)], ToBytes(map));
                }
            }
        }
        finally
        {
            model.train(wasTraining);
        }
        return new PrototypeGallery(c, h, w, pictures);
    }

    /// <summary>A map scaled to 0..255 between its smallest and largest value (all 0 when flat).</summary>
    public static byte[] ToBytes(ReadOnlySpan<float> map)
    {
        float lo = float.PositiveInfinity, hi = float.NegativeInfinity;
        foreach (var v in map) (lo, hi) = (Math.Min(lo, v), Math.Max(hi, v));
        var result = new byte[map.Length];
        if (!(hi > lo)) return result;
        for (var i = 0; i < map.Length; i++) result[i] = (byte)Math.Round(255.0 * (map[i] - lo) / (hi - lo));
        return result;
    }

    private byte[] Bytes()
    {
        if (bytes is not null) return bytes;
        var p = Pictures.Count;
        using var images = tensor(Pictures.SelectMany(x => x.Image).ToArray(), [p, Channels, Height, Width]);
        using var activations = tensor(Pictures.SelectMany(x => x.Activation).ToArray(), [p, Height, Width]);
        using var stream = new MemoryStream();
        SafeTensors.Write(stream, new Dictionary<string, Tensor> { ["images"] = images, ["activations"] = activations },
            new Dictionary<string, string> { ["format"] = "protea-prototypes" });
        return bytes = stream.ToArray();
    }
}

using Protea.Data;
using Protea.Models;
using static TorchSharp.torch;

namespace Protea.Explanations;

/// <summary>
/// `protea explain FILE...`'s library call: image files read at the model's own size and channels (an
/// image of another size or channel count is refused rather than resized: the map is over its pixels),
/// explained in batches for the predicted or a chosen class.
/// </summary>
public sealed class SaliencyExplainer(ExplainedModel model, IExplainer method)
{
    public int BatchSize { get; init; } = 64;

    public ExplainedModel Model { get; } = model;
    public IExplainer Method { get; } = method;

    /// <summary>The class index a name or number means for this model; null: the predicted class.</summary>
    public static int? ResolveClass(ModelDescription d, string? name)
    {
        if (name is null) return null;
        var byName = d.ClassNames.ToList().IndexOf(name);
        if (byName >= 0) return byName;
        if (int.TryParse(name, out var index) && index >= 0 && index < d.NumClasses) return index;
        throw new ProteaException($"class '{name}' is neither a class of the model ({string.Join(", ", d.ClassNames.Take(10))}{(d.NumClasses > 10 ? ", ..." : "")}) nor an index 0..{d.NumClasses - 1}", "class");
    }

    /// <summary>The raw images [N, C, H, W] uint8 of <paramref name="files"/>, each checked to be a non-empty image of the model's size and channels.</summary>
    public static Tensor ReadImages(ModelDescription d, IReadOnlyList<string> files)
    {
        if (files.Count == 0) throw new ProteaException("no images to explain", "files");
        var (c, h, w) = ((int)d.InputShape[0], (int)d.InputShape[1], (int)d.InputShape[2]);
        foreach (var file in files)
        {
            if (!File.Exists(file)) throw new ProteaException($"{file}: file not found", "files");
            if (new FileInfo(file).Length == 0) throw new ProteaException($"{file}: empty file; expected a PNG or JPEG image", "files");
            var header = ImageDecoder.Probe(file) ?? throw new ProteaException($"{file}: not an image this Protea reads (PNG, JPEG, WebP, BMP, GIF)", "files");
            if (header.Width != w || header.Height != h)
                throw new ProteaException($"{file}: the image is {header.Width}x{header.Height}, the model takes {w}x{h}; explanations are over the model's input pixels, so resize it first", "files");
            if (header.IsGray != (c == 1))
                throw new ProteaException($"{file}: a {(header.IsGray ? "grayscale" : "colour")} image, the model takes {(c == 1 ? "grayscale (1 channel)" : "colour (3 channels)")}", "files");
        }
        return ImageDecoder.DecodeMany(files, c, h, w);
    }

    /// <summary>One explanation per file, in order.</summary>
    public IReadOnlyList<Explanation> ExplainFiles(IReadOnlyList<string> files, int? targetClass = null)
    {
        using var raw = ReadImages(Model.Bundle.Description, files);
        return ExplainRaw(raw, files, targetClass);
    }

    /// <summary>Raw uint8 images [N, C, H, W] named by <paramref name="names"/>.</summary>
    public IReadOnlyList<Explanation> ExplainRaw(Tensor raw, IReadOnlyList<string> names, int? targetClass = null)
    {
        var d = Model.Bundle.Description;
        var results = new List<Explanation>(names.Count);
        var (h, w) = ((int)raw.shape[2], (int)raw.shape[3]);
        for (long start = 0; start < raw.shape[0]; start += BatchSize)
        {
            using var scope = NewDisposeScope();
            var n = Math.Min(BatchSize, raw.shape[0] - start);
            var pixels = ExplainedModel.Pixels(raw.narrow(0, start, n));
            var targets = targetClass is { } t ? full([n], (long)t, dtype: int64) : Model.Predict(pixels);
            var maps = Method.Explain(Model, pixels, targets).to(float32).contiguous();
            var probability = Model.TargetProbability(pixels, targets).to(float64).data<double>().ToArray();
            var classes = targets.data<long>().ToArray();
            var flat = maps.reshape(n, h * w);
            for (var i = 0; i < n; i++)
                results.Add(new Explanation(names[(int)(start + i)], Method.Name, (int)classes[i], d.ClassNames[(int)classes[i]], probability[i],
                    targetClass is not null, h, w, flat[i].ToFloats()));
        }
        return results;
    }
}

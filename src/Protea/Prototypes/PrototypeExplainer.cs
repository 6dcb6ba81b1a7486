using Microsoft.ML.OnnxRuntime;
using Protea.Deploy;
using Protea.Models;
using TorchSharp;
using static TorchSharp.torch;

namespace Protea.Prototypes;

/// <summary>
/// Explanations of a parts-head model's decisions from its prototypes, on either engine: TorchSharp
/// computes the similarity maps from the saved model; ONNX Runtime reads them from the export's third
/// output, "similarity_maps". Both then rank the prototypes by their contribution to the predicted
/// logit, which (the last layer having no bias) is the sum of all contributions. Everything needed is
/// in the model folder (prototype classes and sources in model.json), not in the training data.
/// </summary>
public static class PrototypeExplainer
{
    public const int DefaultTop = 3;
    private const int BatchSize = 256;

    /// <summary>The parts head of a model, or a user error naming what the model has instead.</summary>
    public static PartsHead HeadOf(ModelBundle bundle) => bundle.Model.Head as PartsHead
        ?? throw new ProteaException($"the model's head is '{bundle.Description.Head}', which has no prototypes; prototype explanations need a model trained with the parts head", "method");

    /// <summary>Per raw input [N, C, H, W] (as the model takes them), the top prototypes behind its predicted class (TorchSharp).</summary>
    public static IReadOnlyList<PrototypeExplanation> Explain(ModelBundle bundle, Tensor raw, int top = DefaultTop)
    {
        var head = HeadOf(bundle);
        var (maps, logits, h, w) = TorchMaps(bundle, raw);
        using var weight = head.LastLayerWeight.detach().contiguous();
        return WithPixels(FromMaps(bundle.Description, head, weight.ToFloats(), maps, logits, h, w, top), raw);
    }

    /// <summary>The same through the model folder's ONNX export (its "similarity_maps" output); the model is read for its last layer and prototype sources.</summary>
    public static IReadOnlyList<PrototypeExplanation> ExplainOnnx(string modelDir, ModelBundle bundle, Tensor raw, int top = DefaultTop, int threads = 0)
    {
        using var session = OpenSession(modelDir, bundle, threads);
        return ExplainOnnx(session, bundle, raw, top);
    }

    /// <summary>An ONNX Runtime session on the folder's export, refusing one without similarity maps.</summary>
    public static InferenceSession OpenSession(string modelDir, ModelBundle bundle, int threads = 0)
    {
        HeadOf(bundle);
        using var options = new SessionOptions { IntraOpNumThreads = threads, InterOpNumThreads = 1 };
        var session = new InferenceSession(OnnxModelFile.PathIn(modelDir), options);
        if (!session.OutputMetadata.ContainsKey("similarity_maps"))
        {
            session.Dispose();
            throw new ProteaException($"{OnnxModelFile.PathIn(modelDir)}: the export has no similarity maps; export the model again", "model");
        }
        return session;
    }

    /// <summary>The same through an open session on the export (<see cref="OpenSession"/>).</summary>
    public static IReadOnlyList<PrototypeExplanation> ExplainOnnx(InferenceSession session, ModelBundle bundle, Tensor raw, int top = DefaultTop)
    {
        var head = HeadOf(bundle);
        CheckInputs(bundle.Description, raw);
        using var f = raw.to(float32).contiguous();
        var input = f.ToFloats();
        using var value = OrtValue.CreateTensorValueFromMemory(input, raw.shape);
        using var results = session.Run(new RunOptions(), ["input"], [value], ["logits", "similarity_maps"]);
        var logits = results[0].GetTensorDataAsSpan<float>().ToArray();
        var shape = results[1].GetTensorTypeAndShape().Shape;
        var maps = results[1].GetTensorDataAsSpan<float>().ToArray();
        using var weight = head.LastLayerWeight.detach().contiguous();
        return WithPixels(FromMaps(bundle.Description, head, weight.ToFloats(), maps, logits, (int)shape[2], (int)shape[3], top), raw);
    }

    private static IReadOnlyList<PrototypeExplanation> WithPixels(IReadOnlyList<PrototypeExplanation> explanations, Tensor raw)
    {
        using var bytes = raw.to(ScalarType.Byte).contiguous();
        var all = bytes.data<byte>().ToArray();
        var size = (int)(raw.shape[1] * raw.shape[2] * raw.shape[3]);
        return explanations.Select((e, i) => e with { Pixels = all[(i * size)..((i + 1) * size)], Channels = (int)raw.shape[1] }).ToArray();
    }

    /// <summary>
    /// Image files explained by a saved parts model, on ONNX Runtime when <paramref name="onnx"/> (the
    /// folder's export) else TorchSharp: the library call behind `protea predict --explain` and
    /// `protea explain --method prototypes`. Images are fitted to the model as for prediction.
    /// </summary>
    public static IReadOnlyList<PrototypeExplanation> ExplainFiles(string modelDir, IReadOnlyList<string> paths, bool onnx = false, int top = DefaultTop, int threads = 0)
    {
        using var bundle = ModelBundle.Load(modelDir);
        HeadOf(bundle);
        foreach (var path in paths)
            if (!File.Exists(path)) throw new ProteaException($"{path}: file not found");
        var shape = bundle.Description.InputShape;
        using var images = Data.ImageDecoder.DecodeMany(paths, (int)shape[0], (int)shape[1], (int)shape[2]);
        var explained = onnx ? ExplainOnnx(modelDir, bundle, images, top, threads) : Explain(bundle, images, top);
        return explained.Select((e, i) => e with { Input = paths[i] }).ToArray();
    }

    /// <summary>
    /// For each raw input, the activation of the predicted class's top prototype (by contribution) over
    /// the input: [N, H, W] float32, the similarity map upsampled bilinearly (for deletion/insertion curves).
    /// </summary>
    public static Tensor ActivationMaps(ModelBundle bundle, Tensor raw)
    {
        var explanations = Explain(bundle, raw, top: 1);
        var (height, width) = ((int)raw.shape[2], (int)raw.shape[3]);
        var all = explanations.SelectMany(e => e.Top[0].HeatMap).ToArray();
        return tensor(all, [explanations.Count, height, width]);
    }

    private static void CheckInputs(ModelDescription d, Tensor raw)
    {
        if (raw.dim() != 4 || !raw.shape[1..].SequenceEqual(d.InputShape))
            throw new ProteaException($"the inputs are [{string.Join(", ", raw.shape[1..])}], the model takes images [{string.Join(", ", d.InputShape)}]", "data");
    }

    private static (float[] Maps, float[] Logits, int H, int W) TorchMaps(ModelBundle bundle, Tensor raw)
    {
        CheckInputs(bundle.Description, raw);
        var model = bundle.Model;
        var head = (PartsHead)model.Head;
        model.eval();
        using var no = no_grad();
        var maps = new List<float>();
        var logits = new List<float>();
        int h = 0, w = 0;
        for (long start = 0; start < raw.shape[0]; start += BatchSize)
        {
            using var scope = NewDisposeScope();
            var x = bundle.Description.Normalization.Apply(raw.narrow(0, start, Math.Min(BatchSize, raw.shape[0] - start)));
            var map = model.Backbone.FeatureMap(x);
            var similarity = PartsHead.Similarity(head.Distances(map)).contiguous();
            (h, w) = ((int)similarity.shape[2], (int)similarity.shape[3]);
            maps.AddRange(similarity.ToFloats());
            logits.AddRange(head.forward(map).ToFloats());
        }
        return (maps.ToArray(), logits.ToArray(), h, w);
    }

    private static IReadOnlyList<PrototypeExplanation> FromMaps(ModelDescription d, PartsHead head,
        float[] weight, float[] maps, float[] logits, int h, int w, int top)
    {
        var (classes, sources, gallery) = (head.PrototypeClasses, head.Sources, head.Gallery);
        var (k, p) = (d.NumClasses, classes.Count);
        var (height, width) = ((int)d.InputShape[1], (int)d.InputShape[2]);
        var n = logits.Length / k;
        var result = new List<PrototypeExplanation>(n);
        for (var i = 0; i < n; i++)
        {
            var row = logits.AsSpan(i * k, k);
            var predicted = 0;
            for (var c = 1; c < k; c++) if (row[c] > row[predicted]) predicted = c;
            var best = new (double Similarity, int Cell)[p];
            for (var j = 0; j < p; j++)
            {
                var map = maps.AsSpan((i * p + j) * h * w, h * w);
                var cell = 0;
                for (var c = 1; c < map.Length; c++) if (map[c] > map[cell]) cell = c;
                best[j] = (map[cell], cell);
            }
            var logit = (double)row[predicted];
            var evidence = Enumerable.Range(0, p)
                .Select(j => (j, Contribution: best[j].Similarity * weight[predicted * p + j]))
                .OrderByDescending(x => x.Contribution).ThenBy(x => x.j).Take(Math.Max(0, top))
                .Select(x => new PrototypeEvidence(x.j, classes[x.j], d.ClassNames[classes[x.j]], best[x.j].Similarity, x.Contribution,
                    logit == 0 ? 0 : x.Contribution / logit,
                    PatchBox.ForCell(best[x.j].Cell / w, best[x.j].Cell % w, h, w, height, width), sources[x.j], height, width,
                    Upsample(maps.AsSpan((i * p + x.j) * h * w, h * w), h, w, height, width)) { Picture = gallery?.Pictures[x.j] })
                .ToArray();
            result.Add(new PrototypeExplanation(predicted, d.ClassNames[predicted], logit, evidence));
        }
        return result;
    }

    /// <summary>Bilinear upsampling with half-pixel centres (PyTorch's align_corners=False), edges clamped.</summary>
    public static float[] Upsample(ReadOnlySpan<float> map, int h, int w, int height, int width)
    {
        var result = new float[height * width];
        for (var y = 0; y < height; y++)
        {
            var sy = Math.Max(0, (y + 0.5) * h / height - 0.5);
            var y0 = Math.Min((int)sy, h - 1);
            var y1 = Math.Min(y0 + 1, h - 1);
            var fy = sy - y0;
            for (var x = 0; x < width; x++)
            {
                var sx = Math.Max(0, (x + 0.5) * w / width - 0.5);
                var x0 = Math.Min((int)sx, w - 1);
                var x1 = Math.Min(x0 + 1, w - 1);
                var fx = sx - x0;
                result[y * width + x] = (float)((1 - fy) * ((1 - fx) * map[y0 * w + x0] + fx * map[y0 * w + x1])
                    + fy * ((1 - fx) * map[y1 * w + x0] + fx * map[y1 * w + x1]));
            }
        }
        return result;
    }
}

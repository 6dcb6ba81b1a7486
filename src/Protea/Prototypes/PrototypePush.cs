using Protea.Data;
using Protea.Models;
using TorchSharp;
using static TorchSharp.torch;

namespace Protea.Prototypes;

/// <summary>What one push did to one prototype: the distance it moved from, and the patch it now is.</summary>
public sealed record PushedPrototype(int Prototype, int ItemIndex, double Distance, PrototypeSource Source);

/// <summary>
/// ProtoPNet's projection ("push"): each prototype is replaced by the add-on features of its nearest
/// training patch among images of its own class, found by brute force over the whole training set in
/// batches (each batch in its own dispose scope). The prototype's source (item id, cell and box in
/// input pixels, <see cref="PatchBox.ForCell"/>) is recorded in the head, with its picture (source image
/// and activation map, <see cref="PrototypeGallery"/>) so the model explains itself without the data.
/// </summary>
public static class PrototypePush
{
    public const int DefaultBatchSize = 500;

    public static IReadOnlyList<PushedPrototype> Push(Classifier model, Dataset train, InputNormalization normalization, int batchSize = DefaultBatchSize)
    {
        var head = model.Head as PartsHead ?? throw new ProteaException($"the model's head is '{model.Head.Kind}', not parts: it has no prototypes to push", "head");
        var p = head.PrototypeCount;
        var wasTraining = model.training;
        model.eval();
        using var no = no_grad();
        using var classes = tensor(head.PrototypeClasses.Select(c => (long)c).ToArray());
        var bestDistance = full(p, double.PositiveInfinity, dtype: float32);
        var bestVector = zeros(p, head.PrototypeDim);
        var bestItem = full(p, -1L, dtype: int64);
        var bestCell = zeros(p, dtype: int64);
        long h = 0, w = 0;
        try
        {
            for (var start = 0; start < train.Count; start += batchSize)
            {
                using var scope = NewDisposeScope();
                var n = Math.Min(batchSize, train.Count - start);
                var x = normalization.Apply(train.Slice(start, n));
                var z = head.Features(model.Backbone.FeatureMap(x));                  // [n, D, h, w]
                (h, w) = (z.shape[2], z.shape[3]);
                var d = head.DistancesFromFeatures(z).flatten(2);                     // [n, P, hw]
                var labels = tensor(train.Labels.AsSpan(start, n).ToArray());
                var own = labels.view(-1, 1).eq(classes.view(1, -1));                 // [n, P]
                d = d.masked_fill(own.logical_not().unsqueeze(2), double.PositiveInfinity);
                var flat = d.permute(1, 0, 2).reshape(p, -1);                         // [P, n * hw]
                var (value, index) = flat.min(1);
                var better = value.lt(bestDistance);
                var patches = z.flatten(2).permute(0, 2, 1).reshape(-1, head.PrototypeDim); // [n * hw, D]
                bestDistance.copy_(where(better, value, bestDistance));
                bestVector.copy_(where(better.unsqueeze(1), patches.index_select(0, index), bestVector));
                bestItem.copy_(where(better, index.div(h * w, rounding_mode: RoundingMode.floor).add(start), bestItem));
                bestCell.copy_(where(better, index.remainder(h * w), bestCell));
            }
            var items = bestItem.data<long>().ToArray();
            var cells = bestCell.data<long>().ToArray();
            var distances = bestDistance.ToFloats();
            var missing = Enumerable.Range(0, p).Where(j => items[j] < 0).Select(j => train.ClassNames[head.PrototypeClasses[j]]).Distinct().ToArray();
            if (missing.Length > 0)
                throw new ProteaException($"{train.Source}: no training images of class {string.Join(", ", missing)} to push prototypes onto", "data");
            head.PrototypeVectors.copy_(bestVector.view(p, -1, 1, 1));
            var (height, width) = ((int)train.ExampleShape[1], (int)train.ExampleShape[2]);
            var result = new List<PushedPrototype>(p);
            for (var j = 0; j < p; j++)
            {
                var (row, col) = ((int)(cells[j] / w), (int)(cells[j] % w));
                var source = new PrototypeSource(train.Ids[(int)items[j]], PatchBox.ForCell(row, col, (int)h, (int)w, height, width), row, col);
                head.SetSource(j, source);
                result.Add(new PushedPrototype(j, (int)items[j], distances[j], source));
            }
            head.Gallery = PrototypeGallery.Capture(model, head, train, normalization, items.Select(i => (int)i).ToArray());
            return result;
        }
        finally
        {
            bestDistance.Dispose();
            bestVector.Dispose();
            bestItem.Dispose();
            bestCell.Dispose();
            model.train(wasTraining);
        }
    }

    /// <summary>Every training image's smallest distance to every prototype [N, P] (float32), in batches.</summary>
    public static Tensor MinDistances(Classifier model, Tensor inputs, InputNormalization normalization, int batchSize = DefaultBatchSize)
    {
        var head = (PartsHead)model.Head;
        var wasTraining = model.training;
        model.eval();
        using var no = no_grad();
        var parts = new List<Tensor>();
        try
        {
            for (long start = 0; start < inputs.shape[0]; start += batchSize)
            {
                using var scope = NewDisposeScope();
                var n = Math.Min(batchSize, inputs.shape[0] - start);
                var x = normalization.Apply(inputs.narrow(0, start, n));
                parts.Add(head.MinDistances(model.Backbone.FeatureMap(x)).MoveToOuterDisposeScope());
            }
            return parts.Count == 0 ? zeros(0, head.PrototypeCount) : cat(parts, 0);
        }
        finally
        {
            foreach (var t in parts) t.Dispose();
            model.train(wasTraining);
        }
    }

    /// <summary>As <see cref="MinDistances(Classifier, Tensor, InputNormalization, int)"/> over a data set held in memory or streamed (read a batch at a time).</summary>
    public static Tensor MinDistances(Classifier model, Data.Dataset data, InputNormalization normalization, int batchSize = DefaultBatchSize)
    {
        if (!data.IsStreamed) return MinDistances(model, data.Inputs, normalization, batchSize);
        var parts = new List<Tensor>();
        try
        {
            for (long start = 0; start < data.Count; start += batchSize)
            {
                using var slice = data.Slice(start, Math.Min(batchSize, data.Count - start));
                parts.Add(MinDistances(model, slice, normalization, batchSize));
            }
            return parts.Count == 0 ? MinDistances(model, zeros([0, .. data.ExampleShape], ScalarType.Byte), normalization, batchSize) : cat(parts, 0);
        }
        finally
        {
            foreach (var t in parts) t.Dispose();
        }
    }
}

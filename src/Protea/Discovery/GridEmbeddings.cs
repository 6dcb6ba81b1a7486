using Protea.Data;
using Protea.Deploy;
using Protea.Models;
using static TorchSharp.torch;

namespace Protea.Discovery;

/// <summary>
/// Embeddings for clustering that keep coarse layout: the backbone's last feature map [N, C, h, w]
/// average-pooled over a G×G grid of cells (torch's adaptive_avg_pool2d, so cells overlap when h is
/// not a multiple of G), flattened cell by cell to C·G² values per item. The model's own embedding
/// is the 1×1 case. Global pooling keeps what the training objectives needed (the known classes'
/// differences); where in the image a pattern sits (a collar, a strap, a heel) is exactly what can
/// tell a new class from a known one it resembles. Rows are not normalised here.
/// </summary>
public static class GridEmbeddings
{
    /// <summary>The grid discovery pools image feature maps over unless told otherwise (measured in bench/results/discover.md).</summary>
    public const int DefaultGrid = 3;

    /// <summary>The grid used for a model built as <paramref name="architecture"/>: <paramref name="requested"/>, or <see cref="DefaultGrid"/> for backbones with a spatial map and 1 for the others.</summary>
    public static int For(string architecture, int? requested)
    {
        var spatial = Registry.Backbones.Get(architecture).SpatialFeatureMap;
        if (requested is null) return spatial ? DefaultGrid : 1;
        if (requested < 1) throw new ProteaException($"pool grid {requested} must be 1 or more (1: the model's embedding)", "pool_grid");
        if (requested > 1 && !spatial)
            throw new ProteaException($"pool grid {requested}: the '{architecture}' backbone has no spatial feature map; use 1 (tables) or an image backbone", "pool_grid");
        return requested.Value;
    }

    /// <summary>The grid-pooled feature maps of every item of <paramref name="data"/>, [N, C·G²] float32, batch by batch.</summary>
    public static Tensor Compute(ModelBundle bundle, Dataset data, int grid, int batchSize = InferenceEngines.DefaultBatchSize)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(grid, 1);
        InferenceEngines.CheckShape(data, bundle.Description);
        var model = bundle.Model;
        model.eval();
        var parts = new List<Tensor>();
        try
        {
            for (var start = 0; start < data.Count; start += batchSize)
            {
                using var scope = NewDisposeScope();
                using var noGrad = no_grad();
                var count = Math.Min(batchSize, data.Count - start);
                var x = bundle.Description.Normalization.Apply(data.Slice(start, count));
                var map = model.Backbone.FeatureMap(x);
                parts.Add(Pool(map, grid).MoveToOuterDisposeScope());
            }
            return cat(parts, 0);
        }
        finally
        {
            foreach (var p in parts) p.Dispose();
        }
    }

    /// <summary>[N, C, h, w] → [N, C·G²]: the mean of each of the G×G cells, cell-major within a channel (torch's flatten order).</summary>
    public static Tensor Pool(Tensor featureMap, int grid) =>
        grid == 1 ? featureMap.mean([2, 3]) : nn.functional.adaptive_avg_pool2d(featureMap, [grid, grid]).flatten(1);
}

using Protea.Models;
using Protea.Prototypes;
using static TorchSharp.torch;

namespace Protea.Tests.Prototypes;

/// <summary>
/// A prototype's similarity (TorchSharp) at the feature cell a box covers: where two engines name
/// different most-activated boxes, the tests accept it only when the two cells tie within float32
/// noise (synthetic shapes repeat patches, and near d = 0 the similarity's rounding differs by CPU and kernel).
/// </summary>
internal static class CellSimilarity
{
    public static double At(ModelBundle bundle, Tensor raw, int item, int prototype, PatchBox box)
    {
        using var scope = NewDisposeScope();
        using var no = no_grad();
        var model = bundle.Model;
        model.eval();
        var x = bundle.Description.Normalization.Apply(raw.narrow(0, item, 1));
        var similarity = PartsHead.Similarity(((PartsHead)model.Head).Distances(model.Backbone.FeatureMap(x)));   // [1, P, h, w]
        var (h, w) = ((int)similarity.shape[2], (int)similarity.shape[3]);
        var (height, width) = ((int)bundle.Description.InputShape[1], (int)bundle.Description.InputShape[2]);
        for (var row = 0; row < h; row++)
            for (var col = 0; col < w; col++)
                if (PatchBox.ForCell(row, col, h, w, height, width) == box) return similarity[0, prototype, row, col].item<float>();
        throw new InvalidOperationException($"no cell has box {box}");
    }

    /// <summary>Asserts the two boxes are the same, or that prototype's similarity at the second is within float32 noise of the first's.</summary>
    public static void AssertSameOrTied(ModelBundle bundle, Tensor raw, int item, int prototype, PatchBox expected, PatchBox actual)
    {
        if (expected == actual) return;
        var (top, other) = (At(bundle, raw, item, prototype, expected), At(bundle, raw, item, prototype, actual));
        Assert.True(Math.Abs(top - other) <= 5e-3 * Math.Max(1, Math.Abs(top)),
            $"input {item} prototype {prototype}: box {expected} vs {actual}, similarity {top} vs {other}");
    }
}

using TorchSharp;
using static TorchSharp.torch;

namespace Protea.Explanations;

/// <summary>
/// Deletion and insertion (Petsiuk et al. 2018, RISE): pixels are replaced by a baseline in order of
/// decreasing attribution (deletion) or put back onto the baseline in that order (insertion), and the
/// target class's softmax probability is read after every 1/steps of the pixels. The area under each
/// curve (trapezoid over the fraction 0..1) summarises it: a faithful map makes the deletion curve
/// fall fast (low AUC) and the insertion curve rise fast (high AUC). A pixel's channels move together;
/// ties keep pixel order.
/// </summary>
public sealed record DeletionInsertion(int Steps = 20, ImageBaseline DeletionBaseline = ImageBaseline.Mean, ImageBaseline InsertionBaseline = ImageBaseline.Blur)
{
    public void Check()
    {
        if (Steps is < 1 or > 10_000)
            throw new ProteaException($"{Steps} deletion/insertion steps is outside 1..10000", "faithfulness_steps");
    }

    /// <summary>Per image, the deletion and insertion curves [N, Steps + 1] (probability after 0, 1/Steps, ..., all pixels).</summary>
    public (Tensor Deletion, Tensor Insertion) Curves(ExplainedModel model, Tensor pixels, Tensor targets, Tensor maps)
    {
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        var (n, h, w) = (pixels.shape[0], pixels.shape[2], pixels.shape[3]);
        var count = h * w;
        var order = maps.reshape(n, count).argsort(1, descending: true);
        var rank = zeros([n, count], dtype: int64).scatter_(1, order, arange(count, dtype: int64).expand(n, count));
        var removed = ImageBaselines.For(DeletionBaseline, model, pixels);
        var start = ImageBaselines.For(InsertionBaseline, model, pixels);
        var both = cat([targets, targets]);
        using var one = 1.ToScalar(); // held: TorchSharp frees temporary Scalars only when finalised
        var deletion = new List<Tensor>();
        var insertion = new List<Tensor>();
        for (var k = 0; k <= Steps; k++)
        {
            var moved = (long)Math.Round((double)k * count / Steps);
            var mask = rank.lt(moved).reshape(n, 1, h, w).to(float32);
            var keep = mask.neg().add_(one);
            var deleted = pixels * keep + removed * mask;
            var inserted = start * keep + pixels * mask;
            var p = model.TargetProbability(cat([deleted, inserted]), both);
            deletion.Add(p.narrow(0, 0, n));
            insertion.Add(p.narrow(0, n, n));
        }
        return (stack(deletion, 1).MoveToOuterDisposeScope(), stack(insertion, 1).MoveToOuterDisposeScope());
    }

    /// <summary>Trapezoid area under a curve sampled at equal steps over [0, 1].</summary>
    public static double Auc(IReadOnlyList<double> curve)
    {
        if (curve.Count < 2) throw new ArgumentException("a curve needs at least two points", nameof(curve));
        var sum = 0.0;
        for (var i = 1; i < curve.Count; i++) sum += (curve[i - 1] + curve[i]) / 2;
        return sum / (curve.Count - 1);
    }
}

using Protea.Explanations;
using static TorchSharp.torch;

namespace Protea.Tests.Explanations;

/// <summary>Deletion and insertion on <see cref="PixelSumBackbone"/>, where the right attribution is known.</summary>
public sealed class DeletionInsertionTests
{
    private const int Size = 8, Images = 12;

    private static (ExplainedModel Model, Tensor Pixels, Tensor Right, float[] Weights) Setup()
    {
        var random = new Random(7);
        var weights = new float[Size * Size];
        // A quarter of the pixels carry the class, with unequal weights; the rest are irrelevant.
        foreach (var i in Enumerable.Range(0, Size * Size).OrderBy(_ => random.Next()).Take(Size * Size / 4))
            weights[i] = (float)(0.2 + 0.6 * random.NextDouble());
        var model = PixelSumBackbone.Create(weights, Size);
        var pixels = rand([Images, 1, Size, Size], generator: new Generator(3)) * 0.5 + 0.5;
        var right = pixels.squeeze(1) * tensor(weights).reshape(1, Size, Size);
        return (model, pixels, right, weights);
    }

    [Fact]
    public void TheRightAttributionScoresBestAndTheReversedOneWorst()
    {
        var (model, pixels, right, _) = Setup();
        using var scope = NewDisposeScope();
        var targets = zeros([Images], dtype: int64);
        // Mean baselines (here 0): a blur keeps a pixel sum almost as it is, so on this model only the curves' ends move.
        var metric = new DeletionInsertion(Steps: 16, DeletionBaseline: ImageBaseline.Mean, InsertionBaseline: ImageBaseline.Mean);
        double Deletion(Tensor map) => metric.Curves(model, pixels, targets, map).Deletion.to(float64).data<double>().Chunk(17).Average(c => DeletionInsertion.Auc(c));
        double Insertion(Tensor map) => metric.Curves(model, pixels, targets, map).Insertion.to(float64).data<double>().Chunk(17).Average(c => DeletionInsertion.Auc(c));
        var wrong = -right;
        var random = rand([Images, Size, Size], generator: new Generator(11));
        var gradientTimesInput = Explainers.Create("gradxinput").Explain(model, pixels, targets);

        Assert.True(Deletion(right) < Deletion(random) && Deletion(random) < Deletion(wrong), $"deletion: right {Deletion(right)}, random {Deletion(random)}, wrong {Deletion(wrong)}");
        Assert.True(Insertion(right) > Insertion(random) && Insertion(random) > Insertion(wrong), $"insertion: right {Insertion(right)}, random {Insertion(random)}, wrong {Insertion(wrong)}");
        // Gradient x input is the right attribution for a linear logit: the same curves.
        Assert.Equal(Deletion(right), Deletion(gradientTimesInput), 1e-9);
        Assert.Equal(Insertion(right), Insertion(gradientTimesInput), 1e-9);

        // Insertion from the blurred image: it starts at the blurred image's probability and ends at the image's.
        var blurred = new DeletionInsertion(Steps: 4, InsertionBaseline: ImageBaseline.Blur).Curves(model, pixels, targets, right).Insertion;
        var fromBlur = model.TargetProbability(ImageBaselines.Blur(pixels, Size / 8.0), targets);
        var atEnd = model.TargetProbability(pixels, targets);
        Assert.True(blurred.select(1, 0).allclose(fromBlur, 1e-6, 1e-7));
        Assert.True(blurred.select(1, 4).allclose(atEnd, 1e-6, 1e-7));
    }

    [Fact]
    public void CurvesMatchAHandComputedRemovalOnePixelAtATime()
    {
        var (model, pixels, right, weights) = Setup();
        using var scope = NewDisposeScope();
        var targets = zeros([Images], dtype: int64);
        var metric = new DeletionInsertion(Steps: Size * Size, DeletionBaseline: ImageBaseline.Black, InsertionBaseline: ImageBaseline.Black);
        var (deletion, insertion) = metric.Curves(model, pixels, targets, right);
        var del = deletion.to(float64).data<double>().ToArray();
        var ins = insertion.to(float64).data<double>().ToArray();
        var x = pixels.to(float64).data<double>().ToArray();
        var map = right.to(float64).data<double>().ToArray();
        const int n = Size * Size;
        for (var image = 0; image < Images; image++)
        {
            var order = Enumerable.Range(0, n).OrderByDescending(i => map[image * n + i]).ThenBy(i => i).ToArray();
            var kept = Enumerable.Range(0, n).Select(i => x[image * n + i]).ToArray();
            var added = new double[n];
            for (var k = 0; k <= n; k++)
            {
                if (k > 0)
                {
                    kept[order[k - 1]] = 0;
                    added[order[k - 1]] = x[image * n + order[k - 1]];
                }
                double Probability(double[] v) => 1 / (1 + Math.Exp(-2 * v.Select((p, i) => p * weights[i]).Sum()));
                Assert.True(Math.Abs(Probability(kept) - del[image * (n + 1) + k]) < 1e-6, $"deletion, image {image}, step {k}");
                Assert.True(Math.Abs(Probability(added) - ins[image * (n + 1) + k]) < 1e-6, $"insertion, image {image}, step {k}");
            }
        }
        Assert.Equal(0.5 * (0.5 + 1) / 2 + 0.5 * (1 + 0.5) / 2, DeletionInsertion.Auc([0.5, 1, 0.5]), 12);
    }
}

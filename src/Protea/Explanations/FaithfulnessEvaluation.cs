using System.Diagnostics;
using static TorchSharp.torch;

namespace Protea.Explanations;

/// <summary>
/// Deletion/insertion for several methods over the same images (the first <c>count</c> of a seeded
/// shuffle), each explaining the model's predicted class. Seconds count the maps only, not the
/// curves, so they compare the methods' own cost.
/// </summary>
public static class FaithfulnessEvaluation
{
    public static FaithfulnessReport Run(ExplainedModel model, Tensor raw, string data, string split, IReadOnlyList<IExplainer> methods,
        DeletionInsertion metric, int batchSize = 100, IProgress<string>? progress = null)
    {
        metric.Check();
        var rows = new List<MethodFaithfulness>();
        var n = raw.shape[0];
        foreach (var method in methods)
        {
            var watch = new Stopwatch();
            var deletion = new double[metric.Steps + 1];
            var insertion = new double[metric.Steps + 1];
            double deletionAuc = 0, insertionAuc = 0;
            for (long start = 0; start < n; start += batchSize)
            {
                using var scope = NewDisposeScope();
                var size = Math.Min(batchSize, n - start);
                var pixels = ExplainedModel.Pixels(raw.narrow(0, start, size));
                var targets = model.Predict(pixels);
                watch.Start();
                var maps = method.Explain(model, pixels, targets);
                watch.Stop();
                var (del, ins) = metric.Curves(model, pixels, targets, maps);
                var d = del.to(float64).data<double>().ToArray();
                var s = ins.to(float64).data<double>().ToArray();
                for (var i = 0; i < size; i++)
                {
                    var di = d.AsSpan((int)(i * (metric.Steps + 1)), metric.Steps + 1);
                    var si = s.AsSpan((int)(i * (metric.Steps + 1)), metric.Steps + 1);
                    deletionAuc += DeletionInsertion.Auc(di.ToArray());
                    insertionAuc += DeletionInsertion.Auc(si.ToArray());
                    for (var k = 0; k <= metric.Steps; k++) { deletion[k] += di[k]; insertion[k] += si[k]; }
                }
                progress?.Report($"{method.Name}: {start + size}/{n} images");
            }
            rows.Add(new MethodFaithfulness(method.Name, deletionAuc / n, insertionAuc / n, watch.Elapsed.TotalSeconds,
                deletion.Select(v => v / n).ToArray(), insertion.Select(v => v / n).ToArray()));
        }
        return new FaithfulnessReport(data, split, (int)n, metric.Steps, metric.DeletionBaseline.ToString().ToLowerInvariant(),
            metric.InsertionBaseline.ToString().ToLowerInvariant(), rows);
    }
}

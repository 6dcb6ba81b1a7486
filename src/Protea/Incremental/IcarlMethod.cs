using Protea.Data;
using Protea.Training.Objectives;
using static TorchSharp.torch;

namespace Protea.Incremental;

/// <summary>
/// iCaRL (Rebuffi et al. 2017): a fixed exemplar memory split evenly over the classes seen (herding or
/// random order, so shrinking keeps each class's first m), training on new data plus exemplars with
/// cross-entropy and distillation of the previous model's old-class logits, and classification by the
/// nearest mean of exemplars (L2-normalised embeddings).
/// </summary>
public sealed class IcarlMethod(IncrementalOptions options) : TrainedMethod(options)
{
    private Dataset? memory;
    private Tensor? means;

    public override string Name => "icarl";

    /// <summary>The exemplars kept (labels are class positions), each class's in selection order.</summary>
    public Dataset? Memory => memory;

    public override void Learn(IncrementalStep step)
    {
        if (step.Index == 0)
            Replace(TrainFresh(step.Train, "linear", 0));
        else
        {
            using var teacher = ModelGrowth.Copy(Bundle!);
            using var data = memory is null ? null : DatasetConcat.Concat(step.Train, memory);
            Replace(TrainGrown(step, data ?? step.Train,
                [new CrossEntropyObjective(), new OldClassDistillation(teacher.Model, Options.DistillationTemperature)]));
        }
        UpdateMemory(step);
    }

    private void UpdateMemory(IncrementalStep step)
    {
        var perClass = Options.Memory / step.SeenClasses;
        var rows = new List<(Dataset Source, long Row)>();
        var kept = new List<long>();
        // Old classes: the first perClass of their exemplars.
        if (memory is not null)
            for (var c = 0; c < step.OldClasses; c++)
                kept.AddRange(Enumerable.Range(0, memory.Count).Where(i => memory.Labels[i] == c).Take(perClass).Select(i => (long)i));
        var chosen = new List<long>();
        using (var zn = NormalizedEmbeddings(Bundle!, step.Train))
            for (var c = step.OldClasses; c < step.SeenClasses; c++)
            {
                var items = Enumerable.Range(0, step.Train.Count).Where(i => step.Train.Labels[i] == c).ToArray();
                if (items.Length == 0) continue;
                int[] order;
                if (Options.Selection == "random") order = Herding.Random(items.Length, perClass, Options.Seed * 7 + c);
                else
                {
                    using var index = tensor(items.Select(i => (long)i).ToArray());
                    using var z = zn.index_select(0, index);
                    order = Herding.Select(z, perClass);
                }
                chosen.AddRange(order.Select(o => (long)items[o]));
            }
        var oldPart = memory?.Subset(kept.ToArray());
        var newPart = step.Train.Subset(chosen.ToArray());
        var next = oldPart is null ? newPart : DatasetConcat.Concat(WithNames(oldPart, step.Train.ClassNames), newPart);
        if (oldPart is not null) { oldPart.Dispose(); newPart.Dispose(); }
        memory?.Dispose();
        memory = next;
        // Class means of the exemplars.
        means?.Dispose();
        using var all = NormalizedEmbeddings(Bundle!, memory);
        using var m = Prototypes.ClassMeans(all, memory.Labels, step.SeenClasses);
        means = nn.functional.normalize(m, dim: 1);
    }

    private static Dataset WithNames(Dataset d, IReadOnlyList<string> names) => new(d.Inputs, d.Labels, names, d.Kind, d.Source, d.Ids);

    public override long[] Predict(Dataset test)
    {
        using var zn = NormalizedEmbeddings(Bundle!, test);
        using var scores = zn.matmul(means!.t());
        using var best = scores.argmax(1);
        return best.data<long>().ToArray();
    }

    public override void Dispose()
    {
        memory?.Dispose();
        means?.Dispose();
        base.Dispose();
    }
}

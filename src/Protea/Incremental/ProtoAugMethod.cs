using Protea.Models;
using Protea.Training.Objectives;
using TorchSharp;
using static TorchSharp.torch;

namespace Protea.Incremental;

/// <summary>
/// PASS-style prototype augmentation (Zhu et al. 2021), exemplar-free: each old class is kept as the
/// mean of its embeddings, and features sampled around the means (mean + radius * N(0, I), the radius
/// from the first task's average per-dimension variance) are classified with the new data to keep the
/// head balanced; the embedding is distilled from the previous model's (feature distillation).
/// </summary>
public sealed class ProtoAugMethod(IncrementalOptions options) : TrainedMethod(options)
{
    public const double AugmentationWeight = 10;
    public const double FeatureDistillationWeight = 10;

    private Tensor? means;
    private double radius;

    public override string Name => "protoaug";

    public override void Learn(IncrementalStep step)
    {
        if (step.Index == 0)
            Replace(TrainFresh(step.Train, "linear", 0));
        else
        {
            using var teacher = ModelGrowth.Copy(Bundle!);
            using var generator = new Generator((ulong)(Options.Seed * 1009 + step.Index));
            Replace(TrainGrown(step, step.Train,
                [new CrossEntropyObjective(), new ProtoAugObjective(teacher.Model, means!, radius, generator, AugmentationWeight, FeatureDistillationWeight)]));
        }
        // Prototypes of the new classes from the model after this step.
        using var z = Models.ClassifierInference.Embeddings(Bundle!.Model, Bundle.Description.Normalization, step.Train);
        using var all = Prototypes.ClassMeans(z, step.Train.Labels, step.SeenClasses);
        var fresh = all.narrow(0, step.OldClasses, step.SeenClasses - step.OldClasses);
        if (step.Index == 0)
        {
            using var y = tensor(step.Train.Labels);
            using var centred = z.sub(all.index_select(0, y));
            radius = Math.Sqrt(centred.square().mean().item<float>());
        }
        var next = means is null ? fresh.clone() : cat([means, fresh], 0);
        means?.Dispose();
        means = next;
    }

    public override void Dispose()
    {
        means?.Dispose();
        base.Dispose();
    }
}

/// <summary>PASS's two terms: cross-entropy on features sampled around the old prototypes, and the distance between the embedding and the teacher's.</summary>
public sealed class ProtoAugObjective(Classifier teacher, Tensor prototypes, double radius, Generator generator, double augmentationWeight, double distillationWeight) : IObjective
{
    public string Name => "protoaug";

    public ObjectiveNeeds Needs => ObjectiveNeeds.Embedding;

    public Tensor Loss(TrainingBatch batch, ModelOutputs outputs)
    {
        var z = outputs.Embedding!;
        Tensor old;
        using (no_grad()) old = teacher.Embed(batch.Inputs);
        var n = z.shape[0];
        var classes = randint(prototypes.shape[0], [n], dtype: int64, generator: generator);
        using var r = radius.ToScalar();
        var sampled = prototypes.index_select(0, classes).add(randn([n, prototypes.shape[1]], generator: generator).mul(r));
        var aug = nn.functional.cross_entropy(outputs.Model.Head.forward(sampled), classes);
        using var wa = augmentationWeight.ToScalar();
        using var wd = distillationWeight.ToScalar();
        return aug.mul(wa).add(z.sub(old).norm().mul(wd));
    }
}

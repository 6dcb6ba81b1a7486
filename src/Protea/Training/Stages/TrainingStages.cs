using Protea.Models;

namespace Protea.Training.Stages;

/// <summary>The stages a head brings to training, read off its registry spec (none for heads learned by gradient descent alone).</summary>
public static class TrainingStages
{
    public static IReadOnlyList<IStage> For(string head, string architecture)
    {
        var spec = Registry.Heads.Get(head);
        IReadOnlyList<IStage> own = spec.Stages?.Invoke() ?? [];
        return spec.Training == HeadTraining.FittedFromEmbeddings ? [new FittedHeadStage(spec, architecture), .. own] : own;
    }
}

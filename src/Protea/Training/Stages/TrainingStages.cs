namespace Protea.Training.Stages;

/// <summary>The stages a head brings to training (none for heads learned by gradient descent alone).</summary>
public static class TrainingStages
{
    public static IReadOnlyList<IStage> For(string head) => head switch
    {
        "ncm" => [new NcmFitStage()],
        _ => [],
    };
}

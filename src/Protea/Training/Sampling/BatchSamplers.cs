using Protea.Training.Objectives;

namespace Protea.Training.Sampling;

/// <summary>
/// The batch sampler a run's options ask for: "random" (<see cref="RandomBatchSampler"/>) or "pk"
/// (<see cref="PkBatchSampler"/>, P classes x K items). Unset: pk when an objective mines triplets
/// within the batch (it needs several items per class), else random.
/// </summary>
public static class BatchSamplers
{
    public static readonly IReadOnlyList<string> Known = ["random", "pk"];

    public static IBatchSampler For(TrainOptions o, int classCount, IReadOnlyList<IObjective> objectives)
    {
        var name = o.Sampler?.ToLowerInvariant()
            ?? (objectives.Any(x => x is TripletObjective || x is WeightedObjective { Inner: TripletObjective }) ? "pk" : "random");
        return name switch
        {
            "random" when o.ClassesPerBatch is not null || o.ItemsPerClass is not null =>
                throw new ProteaException("classes per batch and items per class apply to the balanced (pk) sampler, not to random batches", "sampler"),
            "random" => new RandomBatchSampler(),
            "pk" => PkBatchSampler.Resolve(o.ClassesPerBatch, o.ItemsPerClass, o.BatchSize, classCount),
            _ => throw new ProteaException($"batch sampler '{o.Sampler}' is not known; known: {string.Join(", ", Known)}", "sampler"),
        };
    }
}

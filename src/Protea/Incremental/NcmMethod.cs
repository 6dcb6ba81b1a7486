namespace Protea.Incremental;

/// <summary>
/// SimpleCIL-style NCM (Zhou et al. 2023): the backbone is trained on the first task only (with a
/// cosine head) and then frozen; every class is the mean of its L2-normalised embeddings, and later
/// steps only add means. With <c>teen</c>, new means are calibrated towards similar old ones (TEEN).
/// </summary>
public sealed class NcmMethod(IncrementalOptions options, bool teen) : TrainedMethod(options)
{
    public override string Name => teen ? "teen" : "ncm";

    public override void Learn(IncrementalStep step)
    {
        if (step.Index == 0)
        {
            Replace(TrainFresh(step.Train, "ncm", 0));
            return;
        }
        var grown = ModelGrowth.Grow(Bundle!, step.NewNames);
        Prototypes.AddClasses(grown, step.Train, step.OldClasses, teen, Options.TeenTemperature, Options.TeenAlpha);
        Replace(grown);
    }
}

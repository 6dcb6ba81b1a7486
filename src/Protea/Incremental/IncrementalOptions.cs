namespace Protea.Incremental;

/// <summary>How an incremental method trains: the network, epochs per step, memory and distillation settings.</summary>
public sealed record IncrementalOptions
{
    public string Architecture { get; init; } = "cnn";
    public int Epochs { get; init; } = 2;
    public int BatchSize { get; init; } = 32;
    public double LearningRate { get; init; } = 0.05;

    /// <summary>Exemplars kept in all (iCaRL), split evenly over the classes seen.</summary>
    public int Memory { get; init; } = 2000;

    /// <summary>"herding" or "random" exemplar selection.</summary>
    public string Selection { get; init; } = "herding";

    /// <summary>Distillation temperature (LwF, iCaRL).</summary>
    public double DistillationTemperature { get; init; } = 2.0;

    /// <summary>TEEN's softmax temperature and mixing weight of the new prototype.</summary>
    public double TeenTemperature { get; init; } = TeenCalibration.DefaultTemperature;
    public double TeenAlpha { get; init; } = TeenCalibration.DefaultAlpha;

    public int Seed { get; init; }

    public void Validate()
    {
        if (Memory < 0) throw new ProteaException($"the exemplar memory must not be negative, not {Memory}", "memory");
        if (Selection is not ("herding" or "random")) throw new ProteaException($"exemplar selection '{Selection}' is not known; known: herding, random", "selection");
        if (DistillationTemperature <= 0 || !double.IsFinite(DistillationTemperature))
            throw new ProteaException($"the distillation temperature {DistillationTemperature} must be a positive number", "distillation_temperature");
        if (Epochs < 1) throw new ProteaException($"the number of epochs must be at least 1, not {Epochs}", "epochs");
    }
}

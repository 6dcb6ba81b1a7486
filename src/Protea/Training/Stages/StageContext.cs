using Protea.Data;
using Protea.Models;

namespace Protea.Training.Stages;

/// <summary>What a stage sees: the model as it trains, the labelled training data and its normalisation, the options.</summary>
public sealed class StageContext(Classifier model, Dataset train, InputNormalization normalization, TrainOptions options)
{
    public Classifier Model { get; set; } = model;

    /// <summary>The labelled training examples (unlabelled ones are already dropped).</summary>
    public Dataset Train { get; } = train;

    public InputNormalization Normalization { get; } = normalization;

    public TrainOptions Options { get; } = options;
}

using System.Text.Json.Nodes;
using System.Text.Json.Serialization;
using Protea.Data;

namespace Protea.Models;

/// <summary>
/// Everything model.json says about a model besides its tensors: enough to rebuild the network,
/// preprocess inputs, name classes and repeat the training run.
/// </summary>
public sealed record ModelDescription
{
    public const int CurrentFormatVersion = 1;

    public int FormatVersion { get; init; } = CurrentFormatVersion;
    public required string Architecture { get; init; }
    public required string Head { get; init; }

    /// <summary>ResNet stem ("small" or "imagenet"); null for other backbones.</summary>
    public string? Stem { get; init; }

    public required InputKind InputKind { get; init; }

    /// <summary>Shape of one raw input: [C, H, W] for images, [D] for tabular data.</summary>
    public required long[] InputShape { get; init; }

    public required IReadOnlyList<string> ClassNames { get; init; }

    /// <summary>Tabular models: the feature columns in input order, and the label column they were trained with.</summary>
    public IReadOnlyList<string>? FeatureNames { get; init; }
    public string? LabelColumn { get; init; }

    /// <summary>Tabular models: the text columns one-hot encoded before the network, with their categories; null when none.</summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public IReadOnlyList<CategoricalColumn>? Categorical { get; init; }
    public required InputNormalization Normalization { get; init; }

    /// <summary>The training options that produced the model, as written by the trainer.</summary>
    public System.Text.Json.Nodes.JsonObject? Recipe { get; init; }

    public IReadOnlyDictionary<string, double> Metrics { get; init; } = new Dictionary<string, double>();

    /// <summary>The CPU and torch build it was trained on, and the convolutions that ran in NCHW there; null in older files.</summary>
    public TrainingPlatform? TrainedOn { get; init; }

    /// <summary>
    /// Lower-case hex SHA-256 of model.safetensors, written at save and checked at load so a damaged
    /// or replaced weights file is refused instead of giving changed outputs; null in older files (not checked).
    /// </summary>
    public string? WeightsSha256 { get; init; }

    public int NumClasses => ClassNames.Count;

    /// <summary>The embedding the model gives (size, whether L2-normalised); written from the network itself, absent in files from before it was recorded.</summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public EmbeddingDescription? Embedding { get; init; }

    /// <summary>The backbone's channel multiplier (<see cref="BackboneContext.Width"/>); null: 1, the published widths.</summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public double? Width { get; init; }

    /// <summary>The backbone's own section (<see cref="BackboneSpec.Describe"/>), or null when it has none.</summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public JsonObject? ArchitectureConfig { get; init; }

    /// <summary>The head's own section (<see cref="HeadSpec.Describe"/>), or null when it has none.</summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public JsonObject? HeadConfig { get; init; }

    /// <summary>The training set's embedding index kept with the model (train.index; Search/NearestTrainingEvidence), or null.</summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public Search.TrainingIndexDescription? TrainingIndex { get; init; }

    /// <summary>The calibrated unknown scorer (<see cref="Discovery.UnknownDescription"/>), or null when the model has none.</summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public Discovery.UnknownDescription? Unknown { get; init; }
}

/// <summary>model.json's "embedding": the size of <see cref="Classifier.Embed"/>'s vectors and whether they are L2-normalised.</summary>
public sealed record EmbeddingDescription(long Dim, bool L2Normalized);

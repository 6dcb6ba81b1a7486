using Protea.Evaluation;

namespace Protea.Reports;

/// <summary>What <see cref="RunReport"/> needs to describe one training run and its evaluation.</summary>
public sealed record RunSummary
{
    public required string Architecture { get; init; }
    public required string Head { get; init; }

    /// <summary>The data spec the model was trained on (a name, folder or CSV file).</summary>
    public required string DataSource { get; init; }

    public required int Epochs { get; init; }
    public required double WallSeconds { get; init; }

    /// <summary>Metrics on the evaluation data; its per-class rows and class names fill the per-class table.</summary>
    public required EvaluationReport Metrics { get; init; }

    public IReadOnlyList<EpochRecord> EpochRecords { get; init; } = [];

    /// <summary>Image paths relative to the report; null leaves the image out.</summary>
    public string? ConfusionImage { get; init; } = "confusion.png";

    public string? CurvesImage { get; init; } = "curves.png";

    public string Title { get; init; } = "Protea run report";

    /// <summary>Further rows for the summary table (seed, objective, model folder…), in the given order.</summary>
    public IReadOnlyList<KeyValuePair<string, string>> Details { get; init; } = [];
}

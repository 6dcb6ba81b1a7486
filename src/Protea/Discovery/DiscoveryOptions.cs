using Protea.Deploy;
using Protea.Training;

namespace Protea.Discovery;

/// <summary>
/// Settings of <see cref="CategoryDiscovery"/>. Which classes are known: every class that has labelled
/// items, unless <see cref="KnownClasses"/> names them or <see cref="HideLabelsOf"/> names the others;
/// items of the other classes count as unlabelled (their labels kept as ground truth for the metrics).
/// </summary>
public sealed record DiscoveryOptions
{
    /// <summary>A saved model whose embeddings are clustered; null: a model is trained (<see cref="Train"/>).</summary>
    public string? Model { get; init; }

    /// <summary>
    /// How the model is trained when there is none: architecture, epochs, objective, seed, threads. The default
    /// objective is the GCD paper's: SimCLR on every item, labelled or not (weight 0.65), SupCon on the labelled
    /// ones (0.35), plus cross-entropy on the labelled ones (0.5) for the classifier head.
    /// </summary>
    public TrainOptions Train { get; init; } = new() { Objective = DefaultObjective, Epochs = 4 };

    /// <summary>The objective list of a model trained for discovery (<see cref="Train"/>).</summary>
    public const string DefaultObjective = "simclr:0.65+supcon:0.35+ce:0.5";

    /// <summary>The number of clusters; null: estimated between <see cref="KMin"/> and <see cref="KMax"/>.</summary>
    public int? K { get; init; }

    /// <summary>How k is estimated: <see cref="KEstimator.Labelled"/> or <see cref="KEstimator.SilhouetteCriterion"/>.</summary>
    public string KCriterion { get; init; } = KEstimator.Labelled;

    /// <summary>How far below the best a k's labelled accuracy and silhouette may score and still tie (<see cref="KEstimator"/>); 0: the paper's argmax.</summary>
    public double KTolerance { get; init; } = KEstimator.DefaultTolerance;

    /// <summary>Smallest k tried (default: the number of known classes).</summary>
    public int? KMin { get; init; }

    /// <summary>Largest k tried (default: max(2 × known classes, known + 10)).</summary>
    public int? KMax { get; init; }

    /// <summary>The known classes, as <see cref="Data.ClassSubset"/> writes them ("0-4", "cat,dog").</summary>
    public string? KnownClasses { get; init; }

    /// <summary>Classes whose labels are hidden (treated as new), for benchmarks.</summary>
    public string? HideLabelsOf { get; init; }

    /// <summary>The seeded share of the known classes' items that keep their label (the GCD protocol uses 0.5); the rest are unlabelled.</summary>
    public double LabelledFraction { get; init; } = 1.0;

    /// <summary>A CSV file with columns id,label: the true class of unlabelled items, for the metrics.</summary>
    public string? TruthFile { get; init; }

    /// <summary>
    /// The G×G grid the backbone's feature map is pooled over for clustering (<see cref="GridEmbeddings"/>);
    /// null: <see cref="GridEmbeddings.DefaultGrid"/> for image backbones, 1 (the model's embedding) for tables.
    /// </summary>
    public int? PoolGrid { get; init; }

    public int Restarts { get; init; } = 5;
    public int MaxIterations { get; init; } = 100;

    /// <summary>Representative items listed (and drawn) per cluster: the members nearest its centroid.</summary>
    public int Representatives { get; init; } = 8;

    /// <summary>Work on a seeded random subset of this many items (of the data's training part).</summary>
    public int? Limit { get; init; }

    public int Seed { get; init; }
    public int Threads { get; init; } = 2;
    public EngineChoice Engine { get; init; } = EngineChoice.Auto;
}

using Protea.Evaluation;

namespace Protea.Discovery;

/// <summary>One discovered cluster as clusters.json lists it.</summary>
/// <param name="Size">Unlabelled items assigned to it.</param>
/// <param name="Labelled">Labelled items of its known class (0 for a new cluster).</param>
/// <param name="Matches">The known class the cluster stands for, or "new".</param>
/// <param name="Representatives">Ids of the members nearest the centroid, nearest first.</param>
public sealed record DiscoveredCluster(int Id, int Size, int Labelled, string Matches, IReadOnlyList<string> Representatives);

/// <summary>Metrics of the unlabelled items whose true class is known (Hungarian accuracy as the GCD protocol, NMI, ARI).</summary>
public sealed record DiscoveryMetrics(int Items, double AllAccuracy, double OldAccuracy, double NewAccuracy, double Nmi, double Ari);

/// <summary>What <see cref="CategoryDiscovery.Run"/> found and wrote.</summary>
/// <param name="PoolGrid">The G×G grid the clustered embeddings were pooled over (<see cref="GridEmbeddings"/>; 1: the model's embedding).</param>
/// <param name="EmbeddingDim">Values per item clustered.</param>
public sealed record DiscoveryResult(
    string Data, string? Model, string OutDir, int Items, int LabelledItems, int UnlabelledItems,
    IReadOnlyList<string> KnownClasses, int PoolGrid, int EmbeddingDim, int K, KEstimate? KEstimate, IReadOnlyList<DiscoveredCluster> Clusters,
    DiscoveryMetrics? Metrics, IReadOnlyDictionary<string, double> PhaseSeconds, IReadOnlyList<string> Files);

namespace Protea.Web;

// The JSON the API sends (snake_case names, nulls left out): one record per shape.

public sealed record ClassScore(string Class, double Probability);

public sealed record Box(int X0, int Y0, int X1, int Y1);

/// <summary>A prototype's activation over the input, [Height x Width] row-major, scaled to 0..1.</summary>
public sealed record HeatMap(int Width, int Height, IReadOnlyList<float> Values);

/// <summary>
/// One piece of evidence: a prototype ("prototype": its class, similarity, contribution to the logit and
/// share of it, the most activated box, its heat map, the training item it was pushed from, its picture's URL
/// when the model keeps the gallery) or a nearest
/// training item ("nearest_training_item": its id, label, similarity and image URL when the image is at hand).
/// </summary>
public sealed record EvidenceView(string Kind, string Class, double Similarity)
{
    public int? Prototype { get; init; }
    public double? Contribution { get; init; }
    public double? Share { get; init; }
    public Box? Box { get; init; }
    public HeatMap? HeatMap { get; init; }
    public string? SourceItem { get; init; }
    public string? Id { get; init; }
    public string? ImageUrl { get; init; }
}

public sealed record PredictionView(string Input, string Class, double Probability, IReadOnlyList<ClassScore> Top, double? UnknownScore, bool? IsUnknown,
    IReadOnlyList<EvidenceView> Evidence)
{
    /// <summary>The saliency map of the predicted class (every image model), made when its URL is first fetched.</summary>
    public SaliencyView? Saliency { get; init; }
}

/// <summary>A saliency map: the method (the explainer registry's name, e.g. "gradcam"), the class it explains and the PNG's URL.</summary>
public sealed record SaliencyView(string Method, string Class, string ImageUrl);

public sealed record PredictResponse(int ModelVersion, string EvidenceKind, IReadOnlyList<PredictionView> Predictions);

public sealed record ModelView(int Version, string Architecture, string Head, int FormatVersion, IReadOnlyList<long> InputShape, IReadOnlyList<string> Classes,
    IReadOnlyDictionary<string, double> Metrics, string Engine, bool UnknownScorer, string EvidenceKind, bool CanLearn, int Prototypes, long MaxUploadBytes, int MaxFiles);

public sealed record ClassSummary(int Index, string Name, int? Examples);

public sealed record ExampleView(string Id, string? ImageUrl);

public sealed record PrototypeView(int Id, double? Weight, string? SourceItem, Box? SourceBox)
{
    /// <summary>The prototype's picture (GET /api/prototypes/{id}.png), when the model keeps them.</summary>
    public string? Picture { get; init; }
}

public sealed record ClassDetail(int Index, string Name, IReadOnlyList<ExampleView> Examples, IReadOnlyList<PrototypeView> Prototypes);

public sealed record TaughtClass(string Name, int Images, int ClassesBefore, int ClassesAfter, string Method, string Onnx, int ModelVersion);

public sealed record ClusterMember(int Index, string Name, string ImageUrl, string Predicted, double Probability);

/// <summary>A cluster of a discovery: the known class it stands for, or "new"; its members nearest the centroid first.</summary>
public sealed record ClusterView(string Id, string Matches, int Size, IReadOnlyList<ClusterMember> Members, bool Adopted, string? AdoptedAs);

public sealed record DiscoverResponse(string Session, int Images, int K, int KnownClasses, IReadOnlyList<ClusterView> Clusters);

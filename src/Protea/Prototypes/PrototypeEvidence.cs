using Protea.Predictions;

namespace Protea.Prototypes;

/// <summary>
/// "This part looks like that prototype of class C": one prototype that drove a decision. Its
/// similarity (the best over the input's cells), its contribution to the predicted class's logit
/// (similarity x last-layer weight) and the share of that logit it explains; the cell where it is most
/// active as a box in input pixels; its activation over the input (the similarity map upsampled
/// bilinearly to H x W, row-major); and the training patch it was pushed from (null before a push).
/// </summary>
public sealed record PrototypeEvidence(int Prototype, int ClassIndex, string ClassName, double Similarity, double Contribution,
    double Share, PatchBox ActivatedBox, PrototypeSource? Source, int Height, int Width, float[] HeatMap) : Evidence("prototype")
{
    /// <summary>The prototype's source image and activation map as saved with the model (null for a model saved without them).</summary>
    [System.Text.Json.Serialization.JsonIgnore]
    public PrototypePicture? Picture { get; init; }
}

/// <summary>Why one input got its class: the predicted class, its logit, and the prototypes that contributed most to it, largest first.</summary>
public sealed record PrototypeExplanation(int PredictedClass, string PredictedName, double Logit, IReadOnlyList<PrototypeEvidence> Top)
{
    /// <summary>The input as the model took it: uint8 [C, H, W] row-major (null when not kept).</summary>
    public byte[]? Pixels { get; init; }

    /// <summary>The input's channel count (1 or 3), with <see cref="Pixels"/>.</summary>
    public int Channels { get; init; }

    /// <summary>The input's name (a file path), when known.</summary>
    public string? Input { get; init; }
}

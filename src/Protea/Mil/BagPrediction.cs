using Protea.Predictions;

namespace Protea.Mil;

/// <summary>
/// What a bag model says about one image: the <see cref="Prediction"/> (bag class, probability, bag
/// embedding, and its top patches as <see cref="PatchEvidence"/>), plus every kept patch's box and
/// weight for drawing the attention map.
/// </summary>
public sealed record BagPrediction(Prediction Prediction, int Width, int Height, IReadOnlyList<PatchBox> Boxes, IReadOnlyList<double> Weights)
{
    public IReadOnlyList<PatchEvidence> TopPatches => Prediction.Evidence?.OfType<PatchEvidence>().ToList() ?? [];
}

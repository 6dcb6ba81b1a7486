using Protea.Predictions;

namespace Protea.Mil;

/// <summary>
/// One of the patches a bag model weighed most for its decision: where it lies in the image (pixels)
/// and its weight in the bag (attention; see <see cref="PooledBags"/> for mean and max pooling).
/// </summary>
/// <param name="Rank">1 for the most weighted patch.</param>
public sealed record PatchEvidence(int Rank, PatchBox Box, double Weight) : Evidence("patch");

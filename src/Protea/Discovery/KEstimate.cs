namespace Protea.Discovery;

/// <summary>One k tried by <see cref="KEstimator"/>: the labelled-subset clustering accuracy (NaN without labelled items) and the silhouette.</summary>
public sealed record KCurvePoint(int K, double LabelledAccuracy, double Silhouette);

/// <summary>The number of clusters <see cref="KEstimator"/> chose, by <paramref name="Criterion"/>, and every k it tried.</summary>
public sealed record KEstimate(int K, string Criterion, IReadOnlyList<KCurvePoint> Curve);

namespace Protea.Evaluation;

/// <summary>
/// One row of the per-class table. Precision is 0 when the class was never predicted and recall is 0 when it
/// never occurs (scikit-learn's zero_division=0); F1 is then 0 as well.
/// </summary>
public sealed record ClassMetrics(string Class, double Precision, double Recall, double F1, long Support);

namespace Protea.Explanations;

/// <summary>One method's deletion/insertion result: AUCs averaged over images, the mean curves, and the seconds spent computing its maps.</summary>
public sealed record MethodFaithfulness(string Method, double DeletionAuc, double InsertionAuc, double Seconds,
    IReadOnlyList<double> DeletionCurve, IReadOnlyList<double> InsertionCurve);

/// <summary>`protea explain --evaluate`'s result: every method on the same images, for the model's predicted class.</summary>
public sealed record FaithfulnessReport(string Data, string Split, int Images, int Steps, string DeletionBaseline, string InsertionBaseline,
    IReadOnlyList<MethodFaithfulness> Methods);

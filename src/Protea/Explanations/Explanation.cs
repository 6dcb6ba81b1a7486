namespace Protea.Explanations;

/// <summary>One input's attribution map for one class: Map is row-major [Height x Width] over the input pixels.</summary>
public sealed record Explanation(string Input, string Method, int Class, string ClassName, double Probability, bool ClassGiven,
    int Height, int Width, float[] Map);

using System.Globalization;

namespace Protea.Mil;

/// <summary>
/// Drops background patches by their mean intensity (0..1 over all channels and pixels): "dark:T"
/// drops patches whose mean is at most T (black borders, empty mosaic cells), "bright:T" drops those
/// at least T (the white glass around a tissue slide).
/// </summary>
public sealed record BackgroundFilter(bool Dark, double Threshold)
{
    /// <summary>"dark:T" or "bright:T" with T in [0, 1]; null or "none" keeps every patch.</summary>
    public static BackgroundFilter? Parse(string? text)
    {
        if (string.IsNullOrWhiteSpace(text) || text == "none") return null;
        var parts = text.Split(':');
        if (parts.Length == 2 && (parts[0] == "dark" || parts[0] == "bright")
            && double.TryParse(parts[1], NumberStyles.Float, CultureInfo.InvariantCulture, out var t) && t is >= 0 and <= 1)
            return new BackgroundFilter(parts[0] == "dark", t);
        throw new ProteaException($"background filter '{text}' is not dark:T or bright:T with T between 0 and 1 (or none)", "background");
    }

    /// <summary>True when a patch of this mean intensity (0..1) is background.</summary>
    public bool IsBackground(double meanIntensity) => Dark ? meanIntensity <= Threshold : meanIntensity >= Threshold;

    public override string ToString() => $"{(Dark ? "dark" : "bright")}:{Threshold.ToString(CultureInfo.InvariantCulture)}";
}

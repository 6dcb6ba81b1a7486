using SkiaSharp;

namespace Protea.Reports;

/// <summary>
/// Picks the typeface the plots draw text with. Skia silently draws no text at all when the machine has no
/// fonts, and on Debian its default family is a serif; so ask for common sans families by name, and fail
/// with the fix when there is nothing to draw with.
/// </summary>
internal static class PlotFonts
{
    private static readonly string[] SansFamilies = ["DejaVu Sans", "Liberation Sans", "Noto Sans", "Open Sans", "Arial", "Helvetica"];

    private static readonly Lazy<string> sans = new(Resolve);

    public static string Sans => sans.Value;

    private static string Resolve()
    {
        foreach (var family in SansFamilies)
        {
            // Font managers substitute another family for a missing one, so the name must come back unchanged.
            var typeface = SKTypeface.FromFamilyName(family);
            if (typeface is { GlyphCount: > 0 } && string.Equals(typeface.FamilyName, family, StringComparison.OrdinalIgnoreCase))
                return family;
        }
        var fallback = SKTypeface.Default;
        if (fallback.GlyphCount > 0 && !string.IsNullOrEmpty(fallback.FamilyName)) return fallback.FamilyName;
        throw new ProteaException("plots: no font is installed to draw text with; install one (Debian: apt-get install fonts-dejavu-core)");
    }
}

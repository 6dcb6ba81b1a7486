using System.Globalization;
using System.Text.RegularExpressions;

namespace Protea.Data;

/// <summary>
/// A choice of classes, written as indices into the data's sorted class list ("0-4", "0-4,7") or as class
/// names ("cat,dog"); both may be mixed. An item that is all digits, or two numbers joined by '-', is an
/// index or a range of indices; anything else is a name. The chosen classes keep the order of the data's
/// class list (not the order written) and are re-indexed 0..k-1 in that order, so "7,0-1" on classes
/// a..j gives classes a, b, h labelled 0, 1, 2.
/// </summary>
public sealed partial class ClassSubset
{
    public const string Field = "classes";

    private ClassSubset(string text, IReadOnlyList<Part> parts)
    {
        Text = text;
        Parts = parts;
    }

    /// <summary>What was written, as it was written.</summary>
    public string Text { get; }

    private IReadOnlyList<Part> Parts { get; }

    private abstract record Part;
    private sealed record IndexRange(int First, int Last) : Part;
    private sealed record Name(string Value) : Part;

    [GeneratedRegex(@"^(\d+)(?:\s*-\s*(\d+))?$")]
    private static partial Regex IndexPattern();

    /// <summary>Checks the writing only; which classes exist is known when the data is read (<see cref="Resolve"/>).</summary>
    public static ClassSubset Parse(string text)
    {
        var items = text.Split(',').Select(s => s.Trim()).Where(s => s.Length > 0).ToList();
        if (items.Count == 0)
            throw new ProteaException($"class subset '{text}' names no class; give class indices (\"0-4\", \"0,2,5\") or names (\"cat,dog\")", Field);
        var parts = new List<Part>();
        foreach (var item in items)
        {
            var m = IndexPattern().Match(item);
            if (!m.Success)
            {
                parts.Add(new Name(item));
                continue;
            }
            if (!int.TryParse(m.Groups[1].Value, NumberStyles.None, CultureInfo.InvariantCulture, out int first)
                || !int.TryParse(m.Groups[2].Success ? m.Groups[2].Value : m.Groups[1].Value, NumberStyles.None, CultureInfo.InvariantCulture, out int last))
                throw new ProteaException($"class index range '{item}' is too large", Field);
            if (last < first)
                throw new ProteaException($"class index range '{item}' runs backwards; write it low to high ({last}-{first})", Field);
            parts.Add(new IndexRange(first, last));
        }
        return new ClassSubset(text, parts);
    }

    /// <summary>
    /// The chosen classes as ascending indices into <paramref name="classNames"/>. A name matches exactly, or
    /// failing that case-insensitively when only one class matches.
    /// </summary>
    public int[] Resolve(IReadOnlyList<string> classNames)
    {
        var chosen = new SortedSet<int>();
        foreach (var part in Parts)
        {
            switch (part)
            {
                case IndexRange(var first, var last):
                    if (last >= classNames.Count)
                        throw new ProteaException(
                            $"class index {(first >= classNames.Count ? first : last)} is out of range: the data has {classNames.Count} classes: {Known(classNames)}", Field);
                    for (int c = first; c <= last; c++) chosen.Add(c);
                    break;
                case Name(var name):
                    chosen.Add(IndexOf(name, classNames));
                    break;
            }
        }
        return chosen.ToArray();
    }

    private static int IndexOf(string name, IReadOnlyList<string> classNames)
    {
        for (int c = 0; c < classNames.Count; c++)
            if (classNames[c] == name) return c;
        var loose = Enumerable.Range(0, classNames.Count)
            .Where(c => string.Equals(classNames[c], name, StringComparison.OrdinalIgnoreCase)).ToList();
        if (loose.Count == 1) return loose[0];
        throw new ProteaException($"class '{name}' is not a class of the data; classes: {Known(classNames)}", Field);
    }

    /// <summary>"0 cat, 1 dog, ..." (the first 50), so the message shows both ways to name a class.</summary>
    private static string Known(IReadOnlyList<string> classNames)
    {
        const int shown = 50;
        var list = string.Join(", ", classNames.Take(shown).Select((n, i) => $"{i} {n}"));
        return classNames.Count > shown ? $"{list}, ... ({classNames.Count - shown} more)" : list;
    }

    public override string ToString() => Text;
}

using System.Text.RegularExpressions;

namespace Protea.Web;

/// <summary>
/// Names a client may give a class: 1 to 64 letters, digits, spaces, '_' and '-', starting with a letter or
/// digit; nothing that looks like a path ('/', '\', '.', '..'), no control characters.
/// </summary>
public static partial class ClassNames
{
    public const int MaxLength = 64;

    [GeneratedRegex(@"^[\p{L}\p{N}][\p{L}\p{N} _\-]*$")]
    private static partial Regex Allowed();

    /// <summary>The trimmed name, or a user error saying what is wrong with it.</summary>
    public static string Check(string? name)
    {
        var n = (name ?? "").Trim();
        if (n.Length == 0) throw new ProteaException("a class needs a name", "name");
        if (n.Length > MaxLength) throw new ProteaException($"class name '{n[..20]}...' is {n.Length} characters; at most {MaxLength}", "name");
        if (!Allowed().IsMatch(n))
            throw new ProteaException($"class name '{n}' may hold only letters, digits, spaces, '_' and '-', starting with a letter or digit", "name");
        return n;
    }
}

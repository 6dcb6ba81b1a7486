using System.Globalization;

namespace Protea.Data;

/// <summary>
/// How much memory decoded data may take: sizes written as bytes or with a unit (256M, 1.5G, 800MB,
/// 2GiB; K/M/G/T are powers of 1024). Data whose decoded size fits is held in memory (one tensor, the
/// fast path); larger data is streamed from its decoded cache, a batch at a time.
/// </summary>
public static class MemoryBudget
{
    public const string Field = "memory_budget";

    /// <summary>The share of the currently available memory that the default budget takes.</summary>
    public const double DefaultFraction = 0.5;

    /// <summary>Bytes from a size such as "256M" or "2G".</summary>
    public static long Parse(string text)
    {
        var s = text.Trim();
        int end = s.Length;
        while (end > 0 && char.IsLetter(s[end - 1])) end--;
        var unit = s[end..].ToUpperInvariant();
        long multiplier = unit switch
        {
            "" or "B" => 1,
            "K" or "KB" or "KIB" => 1L << 10,
            "M" or "MB" or "MIB" => 1L << 20,
            "G" or "GB" or "GIB" => 1L << 30,
            "T" or "TB" or "TIB" => 1L << 40,
            _ => 0,
        };
        if (multiplier == 0 || !double.TryParse(s[..end], NumberStyles.Float, CultureInfo.InvariantCulture, out var number)
            || !double.IsFinite(number) || number <= 0)
            throw new ProteaException($"memory budget '{text}': not a size; write e.g. 256M, 1.5G or a number of bytes", Field);
        return (long)Math.Min(number * multiplier, long.MaxValue / 2);
    }

    /// <summary>The default budget: <see cref="DefaultFraction"/> of the memory available now (Linux: MemAvailable).</summary>
    public static long Default() => (long)(AvailableBytes() * DefaultFraction);

    /// <summary>Memory available to this process now: /proc/meminfo's MemAvailable, else what the GC sees.</summary>
    public static long AvailableBytes()
    {
        try
        {
            foreach (var line in File.ReadLines("/proc/meminfo"))
                if (line.StartsWith("MemAvailable:", StringComparison.Ordinal))
                    return long.Parse(line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1], CultureInfo.InvariantCulture) * 1024;
        }
        catch (IOException) { }
        catch (UnauthorizedAccessException) { }
        return GC.GetGCMemoryInfo().TotalAvailableMemoryBytes;
    }

    /// <summary>A size for people: 1.6 GB, 256 MB, 12 KB.</summary>
    public static string Format(long bytes) => bytes switch
    {
        >= 1L << 30 => string.Create(CultureInfo.InvariantCulture, $"{bytes / (double)(1L << 30):0.0#} GB"),
        >= 1L << 20 => string.Create(CultureInfo.InvariantCulture, $"{bytes / (double)(1L << 20):0.#} MB"),
        _ => string.Create(CultureInfo.InvariantCulture, $"{Math.Ceiling(bytes / 1024.0):0} KB"),
    };
}

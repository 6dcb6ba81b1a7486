namespace Protea.Data;

/// <summary>
/// How a data source is read beyond what it is (<see cref="DataSpecOptions"/>): the memory budget that
/// chooses between holding decoded images in memory and streaming them, the decoded cache, the worker
/// threads that decode, and whether bad images stop the run or are skipped. <see cref="InMemory"/> is
/// today's behaviour: everything decoded into memory, no cache.
/// </summary>
public sealed record DataLoadOptions
{
    /// <summary>Everything in memory, decoded afresh, no cache written: what <see cref="DataSpec.Load()"/> does.</summary>
    public static DataLoadOptions InMemory { get; } = new();

    /// <summary>Bytes of decoded images that may be held in memory; null: no limit (never stream).</summary>
    public long? MemoryBudget { get; init; }

    /// <summary>Threads that decode images and read streamed batches; null: the core count.</summary>
    public int? Workers { get; init; }

    /// <summary>Folder of decoded caches (<see cref="DecodedCache"/>); null: no cache (then data is never streamed).</summary>
    public string? CacheDirectory { get; init; }

    /// <summary>Skip images that cannot be decoded (counted in <see cref="DataLoadReport"/>) instead of stopping.</summary>
    public bool SkipBad { get; init; }

    /// <summary>
    /// Decoding progress when a folder is decoded before use (held in memory, or skipping bad images), or null.
    /// A streamed folder without a cache is decoded by its first pass's reads instead (the caller's own progress).
    /// </summary>
    public IProgress<DecodeProgress>? Progress { get; init; }

    /// <summary>Receives what loading did (in memory or streamed, cache hit, skipped files), or null.</summary>
    public Action<DataLoadReport>? Report { get; init; }

    public int WorkerCount => Workers is { } w ? w : Environment.ProcessorCount;

    /// <summary>Refuses settings that cannot work.</summary>
    public void Validate()
    {
        if (Workers is < 1)
            throw new ProteaException($"workers {Workers}: at least 1 thread is needed", "workers");
        if (MemoryBudget is < 1)
            throw new ProteaException($"memory budget {MemoryBudget} bytes: must be positive", Data.MemoryBudget.Field);
    }
}

/// <summary>Where a first decoding pass stands: <paramref name="Done"/> of <paramref name="Total"/> images of <paramref name="Source"/>.</summary>
public sealed record DecodeProgress(string Source, long Done, long Total, TimeSpan Elapsed)
{
    /// <summary>Estimated time left, from the rate so far; null before any image is done.</summary>
    public TimeSpan? Remaining => Done == 0 ? null : TimeSpan.FromSeconds(Elapsed.TotalSeconds / Done * (Total - Done));
}

/// <summary>What loading one split did.</summary>
/// <param name="Streamed">True when batches are read from the cache file; false when held in memory.</param>
/// <param name="DecodedBytes">Size of the split's decoded images.</param>
/// <param name="CacheFile">The decoded cache used, or null.</param>
/// <param name="CacheState">"hit" (read, not decoded), "built", "rebuilt (why)", "filling" or "filling (why the old one was not
/// used)" (streamed: decoded and written as the first pass reads it), or "none".</param>
/// <param name="Skipped">Files skipped as undecodable (relative ids), when skipping bad images.</param>
public sealed record DataLoadReport(string Source, int Items, bool Streamed, long DecodedBytes, long? Budget, string? CacheFile,
    string CacheState, IReadOnlyList<string> Skipped);

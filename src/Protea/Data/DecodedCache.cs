using System.Diagnostics;
using System.Security.Cryptography;
using System.Text;
using Microsoft.Win32.SafeHandles;

namespace Protea.Data;

/// <summary>
/// A split's images decoded once, resized and converted, as one flat file of uint8 items [C, H, W] in
/// the split's order, so that later epochs and later runs read pixels instead of decoding PNG/JPEG.
/// The file lives in a cache folder (default <see cref="DefaultDirectory"/>), named after the split's
/// folder and the item shape; its header holds the SHA-256 of the split's index (every file's path,
/// size and modification time, the image size and channels), so a changed, added or removed file makes
/// it stale and it is rebuilt. A damaged file (wrong magic or version, a header whose own SHA-256 does
/// not match, a length that is not the header's) is rebuilt, never read. It is written to a temporary
/// file beside it and renamed into place, so a reader never sees half a cache. Images that cannot be
/// decoded are recorded with their message (when skipping bad images) and their slots left zero.
/// <para>A cache is either built whole before use (<see cref="OpenOrBuild"/>) or filled as it is read
/// (<see cref="OpenOrBegin"/>): the first read of an item decodes it (on the reader's thread) and writes it
/// to the temporary file; the read that completes the last item writes the header and renames the file into
/// place. Until then no file at <see cref="Path"/> exists, so an interrupted first pass leaves no valid-looking
/// cache (its temporary file is deleted when the process exits, or by the next fill of that cache).</para>
/// <para>Layout: a 4096-byte header ("PROTEAPX", version, count, channels, height, width, index SHA-256,
/// trailer length and SHA-256, then the SHA-256 of those fields), the items, then the trailer (the bad items:
/// index and message).</para>
/// </summary>
public sealed class DecodedCache
{
    private const string Magic = "PROTEAPX";
    private const int Version = 1;
    private const int DataOffset = 4096;
    private static readonly TimeSpan ProgressInterval = TimeSpan.FromMilliseconds(250);

    private readonly SafeFileHandle handle;
    private readonly long dataOffset;

    // Filling (OpenOrBegin): the images, 1 per item once written, how many are, the temporary file and its key.
    private readonly IReadOnlyList<string>? files;
    private readonly int[]? written;
    private int writtenCount;
    private readonly FileStream? fillStream;
    private readonly string? tempPath;
    private readonly byte[]? fillKey;
    private readonly object finishLock = new();
    private volatile bool complete = true;
    private bool abandoned;

    private DecodedCache(string path, SafeFileHandle handle, long dataOffset, int count, int channels, int height, int width,
        IReadOnlyDictionary<int, string> bad)
    {
        Path = path;
        this.handle = handle;
        this.dataOffset = dataOffset;
        Count = count;
        Channels = channels;
        Height = height;
        Width = width;
        Bad = bad;
    }

    private DecodedCache(string path, string tempPath, FileStream stream, byte[] key, IReadOnlyList<string> files, int channels, int height, int width)
        : this(path, stream.SafeFileHandle, DataOffset, files.Count, channels, height, width, new Dictionary<int, string>())
    {
        this.files = files;
        this.tempPath = tempPath;
        fillStream = stream;
        fillKey = key;
        written = new int[files.Count];
        complete = false;
        if (files.Count == 0) Finish();
    }

    public string Path { get; }

    /// <summary>False while a cache opened by <see cref="OpenOrBegin"/> still has items not yet decoded (no file at <see cref="Path"/> yet).</summary>
    public bool IsComplete => complete;

    public int Count { get; }
    public int Channels { get; }
    public int Height { get; }
    public int Width { get; }
    public long ItemBytes => (long)Channels * Height * Width;

    /// <summary>Items that could not be decoded: index -> the decoder's message (which names the file).</summary>
    public IReadOnlyDictionary<int, string> Bad { get; }

    /// <summary>$XDG_CACHE_HOME/protea/decoded, else ~/.cache/protea/decoded.</summary>
    public static string DefaultDirectory
    {
        get
        {
            var xdg = Environment.GetEnvironmentVariable("XDG_CACHE_HOME");
            var root = string.IsNullOrEmpty(xdg)
                ? System.IO.Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".cache")
                : xdg;
            return System.IO.Path.Combine(root, "protea", "decoded");
        }
    }

    /// <summary>The cache file of a split: its folder's full path and the item shape name it, not the files' state.</summary>
    public static string FileFor(string cacheDirectory, string splitRoot, int channels, int height, int width)
    {
        var name = $"{System.IO.Path.GetFullPath(splitRoot)}\n{channels}x{height}x{width}";
        var hash = Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(name)))[..24];
        var label = new string(System.IO.Path.GetFileName(System.IO.Path.TrimEndingDirectorySeparator(System.IO.Path.GetFullPath(splitRoot)))
            .Select(c => char.IsLetterOrDigit(c) || c is '-' or '_' ? c : '_').Take(40).ToArray());
        return System.IO.Path.Combine(cacheDirectory, $"{label}-{hash}-{channels}x{height}x{width}.pxc");
    }

    /// <summary>SHA-256 of what the decoded items depend on: each file's full path, size and modification time, and the item shape.</summary>
    public static byte[] IndexHash(IReadOnlyList<string> files, int channels, int height, int width)
    {
        using var sha = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        sha.AppendData(Encoding.UTF8.GetBytes($"protea-decoded v{Version} {channels}x{height}x{width} {files.Count}\n"));
        foreach (var file in files)
        {
            var info = new FileInfo(file);
            var stamp = info.Exists ? $"{info.Length} {info.LastWriteTimeUtc.Ticks}" : "missing";
            sha.AppendData(Encoding.UTF8.GetBytes($"{System.IO.Path.GetFullPath(file)}\0{stamp}\n"));
        }
        return sha.GetHashAndReset();
    }

    /// <summary>
    /// The cache of <paramref name="files"/> (a split under <paramref name="splitRoot"/>, in order) from
    /// <paramref name="cacheDirectory"/> when it is current and sound, else decoded now on
    /// <paramref name="workers"/> threads and written. Without <paramref name="skipBad"/> the first
    /// undecodable file (in order) stops it with that file's name, and nothing is written.
    /// </summary>
    /// <returns>The cache and what happened: "hit", "built" or "rebuilt (why)".</returns>
    public static (DecodedCache Cache, string State) OpenOrBuild(string cacheDirectory, string splitRoot, IReadOnlyList<string> files,
        int channels, int height, int width, int workers, bool skipBad, IProgress<DecodeProgress>? progress = null)
    {
        var path = FileFor(cacheDirectory, splitRoot, channels, height, width);
        var key = IndexHash(files, channels, height, width);
        if (OpenExisting(path, key, files.Count, channels, height, width, out var why) is { } opened) return (opened, "hit");
        var state = why is null ? "built" : $"rebuilt ({why})";
        Build(path, key, splitRoot, files, channels, height, width, workers, skipBad, progress);
        var built = TryOpen(path, key, files.Count, channels, height, width, out var problem)
            ?? throw new IOException($"{path}: the decoded cache just written does not read back ({problem})");
        return (built, state);
    }

    /// <summary>
    /// The cache of <paramref name="files"/> when it is current and sound ("hit"), else an empty one that is
    /// filled as items are read ("filling", or "filling (why the old one was not used)"): each item is decoded
    /// the first time it is read, and the cache becomes valid on disk once every item has been read. An image
    /// that cannot be decoded stops the read that needs it with the file's name.
    /// </summary>
    public static (DecodedCache Cache, string State) OpenOrBegin(string cacheDirectory, string splitRoot, IReadOnlyList<string> files,
        int channels, int height, int width)
    {
        var path = FileFor(cacheDirectory, splitRoot, channels, height, width);
        var key = IndexHash(files, channels, height, width);
        if (OpenExisting(path, key, files.Count, channels, height, width, out var why) is { } opened) return (opened, "hit");
        var state = why is null ? "filling" : $"filling ({why})";
        Directory.CreateDirectory(System.IO.Path.GetDirectoryName(path)!);
        RemoveStaleTemporaries(path);
        var temp = TemporaryFor(path);
        FileStream stream;
        try
        {
            stream = new FileStream(temp, FileMode.CreateNew, FileAccess.ReadWrite, FileShare.Read | FileShare.Delete);
            stream.SetLength(DataOffset + files.Count * (long)channels * height * width);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            if (File.Exists(temp)) File.Delete(temp);
            throw new ProteaException($"{System.IO.Path.GetDirectoryName(path)}: cannot write the decoded cache ({e.Message})", "cache_dir");
        }
        var cache = new DecodedCache(path, temp, stream, key, files, channels, height, width);
        if (!cache.IsComplete) Unfinished.TryAdd(cache, 0);
        return (cache, state);
    }

    /// <summary>Caches still filling: their temporary files are deleted when the process exits.</summary>
    private static readonly System.Collections.Concurrent.ConcurrentDictionary<DecodedCache, byte> Unfinished = CreateUnfinished();

    private static System.Collections.Concurrent.ConcurrentDictionary<DecodedCache, byte> CreateUnfinished()
    {
        AppDomain.CurrentDomain.ProcessExit += (_, _) =>
        {
            foreach (var cache in Unfinished.Keys) cache.Abandon();
        };
        return new();
    }

    private static string TemporaryFor(string path) => $"{path}.tmp-{Environment.ProcessId}-{Guid.NewGuid():N}";

    /// <summary>Deletes temporary files of <paramref name="path"/> left by processes that no longer run (killed mid-fill).</summary>
    private static void RemoveStaleTemporaries(string path)
    {
        var folder = System.IO.Path.GetDirectoryName(path)!;
        var prefix = System.IO.Path.GetFileName(path) + ".tmp-";
        foreach (var temp in Directory.EnumerateFiles(folder, prefix + "*"))
        {
            var pid = System.IO.Path.GetFileName(temp)[prefix.Length..].Split('-')[0];
            if (int.TryParse(pid, out var id) && id != Environment.ProcessId && Directory.Exists("/proc/self") && !Directory.Exists($"/proc/{id}"))
                try { File.Delete(temp); } catch (IOException) { } catch (UnauthorizedAccessException) { }
        }
    }

    /// <summary>
    /// Gives up filling: the temporary file is closed and deleted, so no cache is left (what an interrupted first
    /// pass leaves). Nothing happens to a complete cache. The cache cannot be read afterwards.
    /// </summary>
    public void Abandon()
    {
        lock (finishLock)
        {
            if (complete || tempPath is null || abandoned) return;
            abandoned = true;
            Unfinished.TryRemove(this, out _);
            fillStream!.Dispose();
            try { File.Delete(tempPath); } catch (IOException) { } catch (UnauthorizedAccessException) { }
        }
    }

    /// <summary>The last item is written: header and trailer, flushed, renamed into place.</summary>
    private void Finish()
    {
        lock (finishLock)
        {
            if (complete || abandoned) return;
            var trailer = BadTrailer([]);
            var itemsEnd = DataOffset + Count * ItemBytes;
            RandomAccess.Write(handle, Header(fillKey!, Count, Channels, Height, Width, trailer), 0);
            RandomAccess.Write(handle, trailer, itemsEnd);
            fillStream!.Flush(flushToDisk: true);
            File.Move(tempPath!, Path, overwrite: true);
            complete = true;
            Unfinished.TryRemove(this, out _);
        }
    }

    /// <summary>The cache at <paramref name="path"/> when there is one, current and sound; else null, with why it was not used (null: there was none).</summary>
    private static DecodedCache? OpenExisting(string path, byte[] key, int count, int channels, int height, int width, out string? why)
    {
        why = null;
        return File.Exists(path) ? TryOpen(path, key, count, channels, height, width, out why) : null;
    }

    /// <summary>The cache at <paramref name="path"/> when it is sound and matches; else null and why not.</summary>
    public static DecodedCache? TryOpen(string path, byte[] indexHash, int count, int channels, int height, int width, out string? why)
    {
        SafeFileHandle? handle = null;
        try
        {
            handle = File.OpenHandle(path, FileMode.Open, FileAccess.Read, FileShare.Read | FileShare.Delete, FileOptions.RandomAccess);
            var length = RandomAccess.GetLength(handle);
            if (length < DataOffset) return Fail("truncated", out why);
            var head = new byte[DataOffset];
            if (RandomAccess.Read(handle, head, 0) != DataOffset) return Fail("truncated", out why);
            using var reader = new BinaryReader(new MemoryStream(head));
            if (Encoding.ASCII.GetString(reader.ReadBytes(Magic.Length)) != Magic) return Fail("not a decoded cache", out why);
            if (reader.ReadInt32() != Version) return Fail("another format version", out why);
            var n = reader.ReadInt32();
            var (c, h, w) = (reader.ReadInt32(), reader.ReadInt32(), reader.ReadInt32());
            var storedIndex = reader.ReadBytes(32);
            var trailerLength = reader.ReadInt64();
            var trailerHash = reader.ReadBytes(32);
            var fieldsLength = (int)reader.BaseStream.Position;
            var storedHash = reader.ReadBytes(32);
            if (!SHA256.HashData(head.AsSpan(0, fieldsLength)).AsSpan().SequenceEqual(storedHash))
                return Fail("damaged header", out why);
            if (n < 0 || c < 1 || h < 1 || w < 1 || trailerLength < 4 || trailerLength > 1L << 30)
                return Fail("damaged header", out why);
            var itemsEnd = DataOffset + (long)n * c * h * w;
            if (length != itemsEnd + trailerLength) return Fail(length < itemsEnd + trailerLength ? "truncated" : "damaged (too long)", out why);
            var trailer = new byte[trailerLength];
            if (RandomAccess.Read(handle, trailer, itemsEnd) != trailerLength) return Fail("truncated", out why);
            if (!SHA256.HashData(trailer).AsSpan().SequenceEqual(trailerHash))
                return Fail("damaged index of bad items", out why);
            if (!storedIndex.AsSpan().SequenceEqual(indexHash) || n != count || c != channels || h != height || w != width)
                return Fail("the folder changed", out why);
            var bad = new Dictionary<int, string>();
            using (var badReader = new BinaryReader(new MemoryStream(trailer), Encoding.UTF8))
            {
                var badCount = badReader.ReadInt32();
                for (int i = 0; i < badCount; i++) bad[badReader.ReadInt32()] = badReader.ReadString();
            }
            why = null;
            var cache = new DecodedCache(path, handle, DataOffset, n, c, h, w, bad);
            handle = null;
            return cache;
        }
        catch (Exception e) when (e is EndOfStreamException or IOException or UnauthorizedAccessException or FormatException)
        {
            return Fail($"unreadable: {e.Message}", out why);
        }
        finally
        {
            handle?.Dispose();
        }
    }

    private static DecodedCache? Fail(string reason, out string? why)
    {
        why = reason;
        return null;
    }

    private static void Build(string path, byte[] key, string source, IReadOnlyList<string> files, int channels, int height, int width,
        int workers, bool skipBad, IProgress<DecodeProgress>? progress)
    {
        Directory.CreateDirectory(System.IO.Path.GetDirectoryName(path)!);
        long itemBytes = (long)channels * height * width;
        var bad = new System.Collections.Concurrent.ConcurrentDictionary<int, string>();
        var watch = Stopwatch.StartNew();
        long done = 0;
        var lastReport = TimeSpan.Zero;
        var reportLock = new object();
        var temp = TemporaryFor(path);
        try
        {
            using (var stream = new FileStream(temp, FileMode.CreateNew, FileAccess.ReadWrite, FileShare.None))
            {
                var itemsEnd = DataOffset + files.Count * itemBytes;
                stream.SetLength(itemsEnd);
                var handle = stream.SafeFileHandle;
                try
                {
                    DecodeAll();
                }
                catch (AggregateException e) when (e.InnerException is IOException or UnauthorizedAccessException)
                {
                    throw new ProteaException($"{System.IO.Path.GetDirectoryName(path)}: cannot write the decoded cache ({e.InnerException.Message})", "cache_dir");
                }
                void DecodeAll() => Parallel.For(0, files.Count, new ParallelOptions { MaxDegreeOfParallelism = workers }, () => new byte[itemBytes], (i, loop, buffer) =>
                {
                    try
                    {
                        ImageDecoder.DecodeInto(files[i], channels, height, width, buffer);
                    }
                    catch (Exception e)
                    {
                        // Never let a worker thread die with the exception: it becomes the file's one-line message.
                        bad[i] = e is ProteaException ? e.Message : $"{files[i]}: cannot decode ({e.Message})";
                        if (!skipBad) loop.Break();
                        return buffer;
                    }
                    RandomAccess.Write(handle, buffer, DataOffset + i * itemBytes);
                    var now = Interlocked.Increment(ref done);
                    if (progress is not null && watch.Elapsed - lastReport >= ProgressInterval)
                        lock (reportLock)
                            if (watch.Elapsed - lastReport >= ProgressInterval)
                            {
                                lastReport = watch.Elapsed;
                                progress.Report(new DecodeProgress(source, now, files.Count, watch.Elapsed));
                            }
                    return buffer;
                }, _ => { });
                // Break() lets every earlier item finish, so the smallest bad index is the first bad file in order.
                if (!skipBad && !bad.IsEmpty)
                    throw new ProteaException(bad[bad.Keys.Min()]);
                progress?.Report(new DecodeProgress(source, files.Count, files.Count, watch.Elapsed));

                var trailer = BadTrailer(bad);
                RandomAccess.Write(handle, Header(key, files.Count, channels, height, width, trailer), 0);
                RandomAccess.Write(handle, trailer, itemsEnd);
                stream.Flush(flushToDisk: true);
            }
            File.Move(temp, path, overwrite: true);
        }
        finally
        {
            if (File.Exists(temp)) File.Delete(temp);
        }
    }

    /// <summary>The trailer: the bad items' count, then each one's index and message, by index.</summary>
    private static byte[] BadTrailer(IEnumerable<KeyValuePair<int, string>> bad)
    {
        var sorted = bad.OrderBy(p => p.Key).ToList();
        using var memory = new MemoryStream();
        using (var writer = new BinaryWriter(memory, Encoding.UTF8, leaveOpen: true))
        {
            writer.Write(sorted.Count);
            foreach (var (index, message) in sorted)
            {
                writer.Write(index);
                writer.Write(message);
            }
        }
        return memory.ToArray();
    }

    /// <summary>The header's fields followed by their SHA-256 (the rest of the 4096 bytes stays zero).</summary>
    private static byte[] Header(byte[] key, int count, int channels, int height, int width, byte[] trailer)
    {
        using var memory = new MemoryStream();
        using (var writer = new BinaryWriter(memory, Encoding.UTF8, leaveOpen: true))
        {
            writer.Write(Encoding.ASCII.GetBytes(Magic));
            writer.Write(Version);
            writer.Write(count);
            writer.Write(channels);
            writer.Write(height);
            writer.Write(width);
            writer.Write(key);
            writer.Write((long)trailer.Length);
            writer.Write(SHA256.HashData(trailer));
        }
        var fields = memory.ToArray();
        return [.. fields, .. SHA256.HashData(fields)];
    }

    /// <summary>Items <paramref name="rows"/> into <paramref name="destination"/> (rows.Count·ItemBytes bytes, e.g. a tensor's memory), on this thread.</summary>
    public void Read(IReadOnlyList<long> rows, Span<byte> destination)
    {
        if (destination.Length < rows.Count * ItemBytes)
            throw new ArgumentException($"{destination.Length} bytes cannot hold {rows.Count} items of {ItemBytes}", nameof(destination));
        var item = (int)ItemBytes;
        for (int i = 0; i < rows.Count; i++) ReadItem(rows[i], destination.Slice(i * item, item));
    }

    /// <summary>One item's bytes at <paramref name="row"/> into <paramref name="span"/> (ItemBytes long), however many reads it takes.</summary>
    public void ReadItem(long row, Span<byte> span)
    {
        if ((ulong)row >= (ulong)Count) throw new ArgumentOutOfRangeException("rows", row, $"the cache holds {Count} items");
        var offset = dataOffset + row * ItemBytes;
        if (!complete && Volatile.Read(ref written![row]) == 0)
        {
            // First read of this item: decode it (a bad image throws with its name), write it, count it once.
            ImageDecoder.DecodeInto(files![(int)row], Channels, Height, Width, span[..(int)ItemBytes]);
            lock (finishLock)
            {
                if (complete) return;
                if (abandoned) throw new ObjectDisposedException(Path, "the decoded cache was abandoned while being filled");
                RandomAccess.Write(handle, span[..(int)ItemBytes], offset);
            }
            if (Interlocked.CompareExchange(ref written[row], 1, 0) == 0 && Interlocked.Increment(ref writtenCount) == Count)
                Finish();
            return;
        }
        while (!span.IsEmpty)
        {
            var got = RandomAccess.Read(handle, span, offset);
            if (got == 0) throw new IOException($"{Path}: ends early (changed while being read)");
            span = span[got..];
            offset += got;
        }
    }

    /// <summary>Items <paramref name="rows"/> into <paramref name="destination"/> (rows.Length·ItemBytes bytes), read on up to <paramref name="workers"/> threads.</summary>
    public void Read(IReadOnlyList<long> rows, byte[] destination, int workers = 1)
    {
        if (destination.LongLength < rows.Count * ItemBytes)
            throw new ArgumentException($"{destination.LongLength} bytes cannot hold {rows.Count} items of {ItemBytes}", nameof(destination));
        var item = (int)ItemBytes;
        void ReadOne(int i) => ReadItem(rows[i], destination.AsSpan(i * item, item));
        if (workers <= 1 || rows.Count < 16)
            for (int i = 0; i < rows.Count; i++) ReadOne(i);
        else
            Parallel.For(0, rows.Count, new ParallelOptions { MaxDegreeOfParallelism = workers }, ReadOne);
    }
}

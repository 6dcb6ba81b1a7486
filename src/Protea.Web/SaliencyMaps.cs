namespace Protea.Web;

/// <summary>
/// The Grad-CAM maps of recent predictions, made when asked for (GET /api/saliency/{id}.png), so a
/// prediction costs only a note of its image and class. Bounded: at most <see cref="MaxEntries"/> notes
/// and <see cref="MaxBytes"/> bytes (uploads and rendered maps together); the oldest go first, and an
/// id that has gone answers 404.
/// </summary>
public sealed class SaliencyMaps(int maxEntries = SaliencyMaps.DefaultMaxEntries, long maxBytes = SaliencyMaps.DefaultMaxBytes)
{
    public const int DefaultMaxEntries = 1024;
    public const long DefaultMaxBytes = 64L << 20;

    private readonly object gate = new();
    private readonly Dictionary<string, Entry> entries = new(StringComparer.Ordinal);
    private readonly Queue<string> order = new();
    private long bytes;

    public int MaxEntries { get; } = maxEntries;
    public long MaxBytes { get; } = maxBytes;

    /// <summary>A prediction to explain: the uploaded image, the class predicted (index and name) with its probability, and the model version that predicted it.</summary>
    public sealed record Entry(string Id, Upload Image, int Class, string ClassName, double Probability, int Version)
    {
        /// <summary>The rendered PNG once made.</summary>
        public byte[]? Png { get; set; }
    }

    /// <summary>Notes a prediction and returns its map's id (32 hex digits, not guessable from other ids).</summary>
    public string Remember(Upload image, int classIndex, string className, double probability, int version)
    {
        var id = Guid.NewGuid().ToString("N");
        var entry = new Entry(id, image, classIndex, className, probability, version);
        lock (gate)
        {
            entries[id] = entry;
            order.Enqueue(id);
            bytes += image.Bytes.Length;
            Trim();
        }
        return id;
    }

    public bool TryGet(string id, out Entry entry)
    {
        lock (gate) return entries.TryGetValue(id, out entry!);
    }

    /// <summary>Keeps the rendered map with its note (counted in the byte budget).</summary>
    public void Store(Entry entry, byte[] png)
    {
        lock (gate)
        {
            if (entry.Png is not null || !entries.TryGetValue(entry.Id, out var current) || !ReferenceEquals(current, entry)) return;
            entry.Png = png;
            bytes += png.Length;
            Trim();
        }
    }

    public int Count
    {
        get { lock (gate) return entries.Count; }
    }

    private void Trim()
    {
        while (order.Count > 0 && (entries.Count > MaxEntries || bytes > MaxBytes))
        {
            var id = order.Dequeue();
            if (entries.Remove(id, out var old)) bytes -= old.Image.Bytes.Length + (old.Png?.Length ?? 0);
        }
    }
}

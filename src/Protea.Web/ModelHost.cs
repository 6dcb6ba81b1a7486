namespace Protea.Web;

/// <summary>
/// The served model: readers take the current <see cref="ModelSnapshot"/> (an immutable reference,
/// counted), and changes (a class taught or adopted) are serialised through one writer lock: the change
/// saves the grown model atomically, then a new snapshot is opened and swapped in. A request sees the
/// old model or the new one, never a half-grown one.
/// </summary>
public sealed class ModelHost : IDisposable
{
    private readonly SemaphoreSlim writer = new(1, 1);
    private readonly object swap = new();
    private readonly int threads;
    private ModelSnapshot current;

    public ModelHost(string modelDir, int threads = 0)
    {
        ModelDir = Path.GetFullPath(modelDir);
        this.threads = threads;
        current = ModelSnapshot.Open(ModelDir, 1, threads);
    }

    public string ModelDir { get; }

    /// <summary>The current snapshot with a reference taken: dispose the lease when done.</summary>
    public Lease Acquire()
    {
        while (true)
        {
            ModelSnapshot snapshot;
            lock (swap) snapshot = current;
            if (snapshot.TryAddReference()) return new Lease(snapshot);
        }
    }

    /// <summary>Runs <paramref name="change"/> on the model folder as the only writer, then serves the model it saved.</summary>
    public async Task<T> ChangeAsync<T>(Func<string, T> change, CancellationToken cancellation)
    {
        await writer.WaitAsync(cancellation);
        try
        {
            var result = await Task.Run(() => change(ModelDir), CancellationToken.None);
            int version;
            lock (swap) version = current.Version + 1;
            var next = await Task.Run(() => ModelSnapshot.Open(ModelDir, version, threads), CancellationToken.None);
            ModelSnapshot old;
            lock (swap)
            {
                old = current;
                current = next;
            }
            old.Release();
            return result;
        }
        finally
        {
            writer.Release();
        }
    }

    public void Dispose()
    {
        lock (swap) current.Release();
        writer.Dispose();
    }

    /// <summary>A reader's reference to one snapshot.</summary>
    public readonly struct Lease(ModelSnapshot snapshot) : IDisposable
    {
        public ModelSnapshot Snapshot { get; } = snapshot;

        public void Dispose() => Snapshot.Release();
    }
}

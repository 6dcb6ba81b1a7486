using static TorchSharp.torch;

namespace Protea.Data;

/// <summary>
/// The raw inputs of an epoch's batches, in the plan's order: gathered from memory with one index_select,
/// or, for a streamed <see cref="Dataset"/>, read from its decoded cache on background threads a few
/// batches ahead (prefetch). Both give the same uint8 pixels for the same plan, so whatever follows
/// (augmentation, normalisation) sees the same batches either way.
/// </summary>
public sealed class BatchSource : IDisposable
{
    /// <summary>Batches read ahead of the one being trained on (streamed data).</summary>
    public const int PrefetchDepth = 2;

    private readonly Dataset data;
    private readonly IReadOnlyList<Tensor> plan;
    private readonly long[][]? indices;
    private readonly Task<byte[]>?[] reads;

    /// <param name="plan">int64 index tensors into <paramref name="data"/>, one per batch (not disposed here).</param>
    public BatchSource(Dataset data, IReadOnlyList<Tensor> plan)
    {
        this.data = data;
        this.plan = plan;
        reads = new Task<byte[]>?[plan.Count];
        if (!data.IsStreamed) return;
        indices = plan.Select(p => p.data<long>().ToArray()).ToArray();
        for (int b = 0; b < Math.Min(PrefetchDepth, plan.Count); b++) Start(b);
    }

    public int Count => plan.Count;

    /// <summary>Batch <paramref name="b"/>'s raw inputs (uint8 images), made in the caller's dispose scope.</summary>
    public Tensor Batch(int b)
    {
        if (indices is null) return data.Gather(plan[b]);
        var read = reads[b] ?? Start(b);
        if (b + PrefetchDepth < plan.Count) Start(b + PrefetchDepth);
        byte[] bytes;
        try
        {
            bytes = read.GetAwaiter().GetResult();
        }
        finally
        {
            reads[b] = null;
        }
        return data.AsTensor(bytes, indices[b].Length);
    }

    private Task<byte[]> Start(int b)
    {
        var rows = indices![b];
        return reads[b] ??= Task.Run(() => data.ReadBytes(rows));
    }

    /// <summary>Waits for reads still in flight (their results are dropped; their errors were the epoch's concern).</summary>
    public void Dispose()
    {
        foreach (var read in reads)
            if (read is not null)
                try { read.Wait(); } catch (AggregateException) { }
    }
}

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
    private readonly Task<Tensor>?[] reads;

    /// <param name="plan">int64 index tensors into <paramref name="data"/>, one per batch (not disposed here).</param>
    public BatchSource(Dataset data, IReadOnlyList<Tensor> plan)
    {
        this.data = data;
        this.plan = plan;
        reads = new Task<Tensor>?[plan.Count];
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
        Tensor read_;
        try
        {
            read_ = read.GetAwaiter().GetResult();
        }
        finally
        {
            reads[b] = null;
        }
        // The read-ahead tensor belongs to no dispose scope; hand the caller a view in its own scope.
        using (read_)
            return read_.alias();
    }

    /// <summary>Starts reading batch <paramref name="b"/> straight into a tensor of its own, outside any dispose scope.</summary>
    private Task<Tensor> Start(int b)
    {
        if (reads[b] is { } started) return started;
        var rows = indices![b];
        var target = empty([rows.Length, .. data.ExampleShape], ScalarType.Byte).DetachFromDisposeScope();
        return reads[b] = Task.Run(() =>
        {
            try
            {
                data.ReadInto(rows, target);
                return target;
            }
            catch
            {
                target.Dispose();
                throw;
            }
        });
    }

    /// <summary>Waits for reads still in flight and frees their tensors.</summary>
    public void Dispose()
    {
        foreach (var read in reads)
            if (read is not null)
                try { read.Result.Dispose(); } catch (AggregateException) { }
    }
}

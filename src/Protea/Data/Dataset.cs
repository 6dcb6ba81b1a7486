using TorchSharp;
using static TorchSharp.torch;

namespace Protea.Data;

public enum InputKind { Image, Tabular }

/// <summary>
/// A whole data set preloaded as one tensor, so batches are gathered with whole-tensor ops, or (images
/// larger than the memory budget) streamed: rows of a <see cref="DecodedCache"/> read a batch at a time
/// (<see cref="Gather(Tensor)"/>, <see cref="Slice"/>, <see cref="BatchSource"/>), the same pixels in the same order.
/// Images are uint8 [N, C, H, W] until a batch is formed; tabular features are float32 [N, D].
/// Labels index <see cref="ClassNames"/>; -1 marks an unlabelled example. Each example has an id that
/// names it in outputs (evidence, clusters, search hits) and survives every subset taken of the data.
/// </summary>
public sealed class Dataset : IDisposable
{
    /// <param name="ids">One id per example; without it, each example's index ("0", "1", ...).</param>
    public Dataset(Tensor inputs, long[] labels, IReadOnlyList<string> classNames, InputKind kind, string source,
        IReadOnlyList<string>? ids = null)
    {
        if (inputs.shape[0] != labels.Length)
            throw new ArgumentException($"{source}: {inputs.shape[0]} inputs but {labels.Length} labels");
        if (ids is not null && ids.Count != labels.Length)
            throw new ArgumentException($"{source}: {ids.Count} ids but {labels.Length} labels");
        inputs_ = inputs;
        Labels = labels;
        ClassNames = classNames;
        Kind = kind;
        Source = source;
        Ids = ids ?? Enumerable.Range(0, labels.Length).Select(i => i.ToString(System.Globalization.CultureInfo.InvariantCulture)).ToArray();
    }

    /// <summary>A streamed image data set: item i is row <paramref name="rows"/>[i] of <paramref name="cache"/>.</summary>
    /// <param name="workers">Threads that read a batch's rows.</param>
    public Dataset(DecodedCache cache, long[] rows, long[] labels, IReadOnlyList<string> classNames, string source,
        IReadOnlyList<string> ids, int workers = 1)
    {
        if (rows.Length != labels.Length || ids.Count != labels.Length)
            throw new ArgumentException($"{source}: {rows.Length} rows, {labels.Length} labels and {ids.Count} ids");
        cache_ = cache;
        rows_ = rows;
        Workers = Math.Max(1, workers);
        Labels = labels;
        ClassNames = classNames;
        Kind = InputKind.Image;
        Source = source;
        Ids = ids;
    }

    private readonly DecodedCache? cache_;
    private readonly long[]? rows_;
    private Tensor? inputs_;

    /// <summary>Threads that read a streamed batch's rows (1 for data in memory).</summary>
    public int Workers { get; } = 1;

    /// <summary>True when items are read from the decoded cache a batch at a time rather than held in memory.</summary>
    public bool IsStreamed => cache_ is not null && inputs_ is null;

    /// <summary>
    /// All inputs as one tensor. A streamed data set reads every item into memory the first time this is
    /// asked for (and keeps them): code meant for data larger than memory uses <see cref="Gather(Tensor)"/>,
    /// <see cref="Slice"/> or <see cref="BatchSource"/> instead.
    /// </summary>
    public Tensor Inputs
    {
        get
        {
            if (inputs_ is null)
            {
                var all = Enumerable.Range(0, Count).Select(i => (long)i).ToArray();
                inputs_ = Gather(all);
            }
            return inputs_;
        }
    }
    public long[] Labels { get; }
    public IReadOnlyList<string> ClassNames { get; }
    public InputKind Kind { get; }

    /// <summary>
    /// What names each example: an image's path relative to the data root ('/' separators), a CSV's id
    /// column or row number (header = row 1), Fashion-MNIST's split and index ("train/12345").
    /// </summary>
    public IReadOnlyList<string> Ids { get; }

    /// <summary>Where the data came from (a file or folder), for messages and reports.</summary>
    public string Source { get; }

    public int Count => Labels.Length;

    /// <summary>Shape of one example: [C, H, W] for images, [D] for tabular data.</summary>
    public long[] ExampleShape => cache_ is { } c && inputs_ is null ? [c.Channels, c.Height, c.Width] : Inputs.shape[1..];

    /// <summary>Bytes of one example's inputs (uint8 images, float32 rows).</summary>
    public long ExampleBytes => ExampleShape.Aggregate(1L, (a, b) => a * b) * (Kind == InputKind.Image ? 1 : 4);

    /// <summary>The inputs of the examples at <paramref name="index"/> (int64), in that order: Inputs.index_select, streamed or not.</summary>
    public Tensor Gather(Tensor index)
    {
        if (!IsStreamed) return Inputs.index_select(0, index);
        return Gather(index.data<long>().ToArray());
    }

    /// <summary>The inputs of the examples at <paramref name="indices"/>, in that order.</summary>
    public Tensor Gather(long[] indices)
    {
        if (!IsStreamed)
        {
            using var index = tensor(indices, ScalarType.Int64);
            return Inputs.index_select(0, index);
        }
        var result = empty([indices.Length, .. ExampleShape], ScalarType.Byte);
        ReadInto(indices, result);
        return result;
    }

    /// <summary>
    /// A streamed data set's examples at <paramref name="indices"/> read straight into <paramref name="destination"/>
    /// (uint8 [n, C, H, W], contiguous); safe on any thread while the tensor lives.
    /// </summary>
    public void ReadInto(long[] indices, Tensor destination)
    {
        if (cache_ is null || rows_ is null) throw new InvalidOperationException($"{Source}: held in memory, not streamed");
        var rows = new long[indices.Length];
        for (int i = 0; i < indices.Length; i++) rows[i] = rows_[indices[i]];
        if (cache_.IsComplete || Workers == 1 || rows.Length == 1)
        {
            cache_.Read(rows, destination.bytes);
            return;
        }
        // A cache still filling decodes the items it has not written yet: on Workers threads, and a bad image
        // stops the read with the first such file of the batch (in batch order), never in a worker thread.
        var item = (int)cache_.ItemBytes;
        var errors = new Exception?[rows.Length];
        Parallel.For(0, rows.Length, new ParallelOptions { MaxDegreeOfParallelism = Workers }, i =>
        {
            try
            {
                cache_.ReadItem(rows[i], destination.bytes.Slice(i * item, item));
            }
            catch (Exception e)
            {
                errors[i] = e;
            }
        });
        if (errors.FirstOrDefault(e => e is not null) is { } first)
            System.Runtime.ExceptionServices.ExceptionDispatchInfo.Throw(first);
    }

    /// <summary>Examples start .. start+length-1: a view of Inputs in memory, read from the cache when streamed.</summary>
    public Tensor Slice(long start, long length)
    {
        if (!IsStreamed) return Inputs.narrow(0, start, length);
        var indices = new long[length];
        for (long i = 0; i < length; i++) indices[i] = start + i;
        return Gather(indices);
    }

    /// <summary>The examples at <paramref name="indices"/>, in that order, with their labels and ids.</summary>
    public Dataset Subset(long[] indices)
    {
        if (IsStreamed)
            return new Dataset(cache_!, indices.Select(i => rows_![i]).ToArray(), indices.Select(i => Labels[i]).ToArray(), ClassNames,
                Source, indices.Select(i => Ids[(int)i]).ToArray(), Workers);
        using var index = tensor(indices, ScalarType.Int64);
        var labels = indices.Select(i => Labels[i]).ToArray();
        var ids = indices.Select(i => Ids[(int)i]).ToArray();
        return new Dataset(Inputs.index_select(0, index), labels, ClassNames, Kind, Source, ids);
    }

    /// <summary>
    /// The same examples (in memory: a view of the same inputs; streamed: the same cache rows) with other labels
    /// and class names, e.g. a task's own class numbering.
    /// </summary>
    public Dataset Relabel(long[] labels, IReadOnlyList<string> classNames)
    {
        if (labels.Length != Count) throw new ArgumentException($"{Source}: {labels.Length} labels for {Count} examples", nameof(labels));
        return IsStreamed
            ? new Dataset(cache_!, rows_!, labels, classNames, Source, Ids, Workers)
            : new Dataset(Inputs.alias(), labels, classNames, Kind, Source, Ids);
    }

    public Dataset Take(int count) => Subset(Enumerable.Range(0, Math.Min(count, Count)).Select(i => (long)i).ToArray());

    /// <summary>A seeded random subset of <paramref name="count"/> examples (all when there are fewer), in their original order.</summary>
    public Dataset Sample(int count, int seed)
    {
        if (count < 1) throw new ProteaException($"limit {count}: at least 1 example is needed", "limit");
        var order = Enumerable.Range(0, Count).Select(i => (long)i).ToArray();
        new Random(seed).Shuffle(order);
        return Subset(order.Take(count).Order().ToArray());
    }

    /// <summary>
    /// Only the examples of the classes at <paramref name="classIndices"/> (indices into <see cref="ClassNames"/>,
    /// ascending), relabelled densely 0..k-1 in that order; unlabelled examples (-1) are kept, as they belong to no class.
    /// </summary>
    public Dataset SelectClasses(IReadOnlyList<int> classIndices)
    {
        var newIndex = new Dictionary<long, long>();
        for (int k = 0; k < classIndices.Count; k++) newIndex[classIndices[k]] = k;
        var rows = Enumerable.Range(0, Count).Where(i => Labels[i] < 0 || newIndex.ContainsKey(Labels[i])).Select(i => (long)i).ToArray();
        var labels = rows.Select(i => Labels[i] < 0 ? -1 : newIndex[Labels[i]]).ToArray();
        var ids = rows.Select(i => Ids[(int)i]).ToArray();
        var names = classIndices.Select(c => ClassNames[c]).ToArray();
        if (IsStreamed)
            return new Dataset(cache_!, rows.Select(i => rows_![i]).ToArray(), labels, names, Source, ids, Workers);
        using var index = tensor(rows, ScalarType.Int64);
        return new Dataset(Inputs.index_select(0, index), labels, names, Kind, Source, ids);
    }

    public void Dispose() => inputs_?.Dispose();
}

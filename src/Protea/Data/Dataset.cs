using TorchSharp;
using static TorchSharp.torch;

namespace Protea.Data;

public enum InputKind { Image, Tabular }

/// <summary>
/// A whole data set preloaded as one tensor, so batches are gathered with whole-tensor ops.
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
        Inputs = inputs;
        Labels = labels;
        ClassNames = classNames;
        Kind = kind;
        Source = source;
        Ids = ids ?? Enumerable.Range(0, labels.Length).Select(i => i.ToString(System.Globalization.CultureInfo.InvariantCulture)).ToArray();
    }

    public Tensor Inputs { get; }
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
    public long[] ExampleShape => Inputs.shape[1..];

    /// <summary>The examples at <paramref name="indices"/>, in that order, with their labels and ids.</summary>
    public Dataset Subset(long[] indices)
    {
        using var index = tensor(indices, ScalarType.Int64);
        var labels = indices.Select(i => Labels[i]).ToArray();
        var ids = indices.Select(i => Ids[(int)i]).ToArray();
        return new Dataset(Inputs.index_select(0, index), labels, ClassNames, Kind, Source, ids);
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
        using var index = tensor(rows, ScalarType.Int64);
        var labels = rows.Select(i => Labels[i] < 0 ? -1 : newIndex[Labels[i]]).ToArray();
        var ids = rows.Select(i => Ids[(int)i]).ToArray();
        var names = classIndices.Select(c => ClassNames[c]).ToArray();
        return new Dataset(Inputs.index_select(0, index), labels, names, Kind, Source, ids);
    }

    public void Dispose() => Inputs.Dispose();
}

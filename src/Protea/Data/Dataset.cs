using TorchSharp;
using static TorchSharp.torch;

namespace Protea.Data;

public enum InputKind { Image, Tabular }

/// <summary>
/// A whole data set preloaded as one tensor, so batches are gathered with whole-tensor ops.
/// Images are uint8 [N, C, H, W] until a batch is formed; tabular features are float32 [N, D].
/// Labels index <see cref="ClassNames"/>; -1 marks an unlabelled example.
/// </summary>
public sealed class Dataset : IDisposable
{
    public Dataset(Tensor inputs, long[] labels, IReadOnlyList<string> classNames, InputKind kind, string source)
    {
        if (inputs.shape[0] != labels.Length)
            throw new ArgumentException($"{source}: {inputs.shape[0]} inputs but {labels.Length} labels");
        Inputs = inputs;
        Labels = labels;
        ClassNames = classNames;
        Kind = kind;
        Source = source;
    }

    public Tensor Inputs { get; }
    public long[] Labels { get; }
    public IReadOnlyList<string> ClassNames { get; }
    public InputKind Kind { get; }

    /// <summary>Where the data came from (a file or folder), for messages and reports.</summary>
    public string Source { get; }

    public int Count => Labels.Length;

    /// <summary>Shape of one example: [C, H, W] for images, [D] for tabular data.</summary>
    public long[] ExampleShape => Inputs.shape[1..];

    public Dataset Subset(long[] indices)
    {
        using var index = tensor(indices, ScalarType.Int64);
        var labels = indices.Select(i => Labels[i]).ToArray();
        return new Dataset(Inputs.index_select(0, index), labels, ClassNames, Kind, Source);
    }

    public Dataset Take(int count) => Subset(Enumerable.Range(0, Math.Min(count, Count)).Select(i => (long)i).ToArray());

    public void Dispose() => Inputs.Dispose();
}

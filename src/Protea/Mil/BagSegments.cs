using TorchSharp;
using static TorchSharp.torch;

namespace Protea.Mil;

/// <summary>
/// Bags of different sizes in one batch: their instances are concatenated ([N, D], bag after bag) and
/// this maps them to a padded [B, L, D] layout with a mask, so pooling is a batched softmax or max over
/// each bag's own instances and padding never takes part.
/// </summary>
public sealed class BagSegments : IDisposable
{
    public BagSegments(IReadOnlyList<int> sizes, Device? device = null)
    {
        if (sizes.Count == 0 || sizes.Any(s => s < 1))
            throw new ArgumentException("every bag needs at least one instance", nameof(sizes));
        Sizes = sizes.ToArray();
        MaxSize = Sizes.Max();
        var padded = new long[Sizes.Sum()];
        var bagOf = new long[padded.Length];
        for (int b = 0, i = 0; b < Sizes.Length; b++)
            for (var j = 0; j < Sizes[b]; j++, i++)
            {
                padded[i] = (long)b * MaxSize + j;
                bagOf[i] = b;
            }
        PaddedIndex = tensor(padded, device: device);
        BagOf = tensor(bagOf, device: device);
        using var flat = zeros(Sizes.Length * MaxSize, ScalarType.Bool, device);
        using var one = true.ToScalar();
        Mask = flat.index_fill(0, PaddedIndex, one).view(Sizes.Length, MaxSize);
    }

    public int[] Sizes { get; }
    public int Bags => Sizes.Length;
    public int MaxSize { get; }
    public int Instances => (int)PaddedIndex.shape[0];

    /// <summary>For each instance, its slot in the padded [B * L] layout.</summary>
    public Tensor PaddedIndex { get; }

    /// <summary>For each instance, its bag.</summary>
    public Tensor BagOf { get; }

    /// <summary>[B, L], true where a slot holds an instance.</summary>
    public Tensor Mask { get; }

    /// <summary>[N, ...] instances -> [B, L, ...] with zeros in the padding.</summary>
    public Tensor Pad(Tensor instances)
    {
        var rest = instances.shape[1..];
        var shape = new long[] { (long)Bags * MaxSize }.Concat(rest).ToArray();
        var padded = zeros(shape, instances.dtype, instances.device).index_copy(0, PaddedIndex, instances);
        return padded.view(new long[] { Bags, MaxSize }.Concat(rest).ToArray());
    }

    /// <summary>[B, L, ...] -> [N, ...], the inverse of <see cref="Pad"/>.</summary>
    public Tensor Unpad(Tensor padded)
    {
        var rest = padded.shape[2..];
        return padded.reshape(new long[] { (long)Bags * MaxSize }.Concat(rest).ToArray()).index_select(0, PaddedIndex);
    }

    public void Dispose()
    {
        PaddedIndex.Dispose();
        BagOf.Dispose();
        Mask.Dispose();
    }
}

using System.Runtime.InteropServices;
using static TorchSharp.torch;

namespace Protea.Models;

/// <summary>
/// A tensor's values into a managed array with one block copy. TorchSharp's <c>data&lt;float&gt;().ToArray()</c>
/// goes element by element through its accessor (about 6 ns each: 46 ms for 60,000 × 128 embeddings).
/// </summary>
public static class TensorCopy
{
    /// <summary>The values of <paramref name="t"/> as float32, in row-major order.</summary>
    public static float[] ToFloats(this Tensor t)
    {
        using var scope = NewDisposeScope();
        var c = t.to(ScalarType.Float32).contiguous();
        return MemoryMarshal.Cast<byte, float>(c.bytes).ToArray();
    }
}

using static TorchSharp.torch;

namespace Protea.Models;

/// <summary>
/// Layer-to-layer chaining that releases each intermediate as soon as the next exists. Autograd keeps
/// its own reference to what backward needs, so this only frees what nothing uses: at inference
/// batch 1,000 it keeps one or two activations alive instead of every one of the forward pass.
/// </summary>
public static class TensorChain
{
    /// <summary>Applies <paramref name="layer"/> and disposes <paramref name="x"/> (unless the layer returned it, e.g. in place).</summary>
    public static Tensor Then(this Tensor x, Func<Tensor, Tensor> layer)
    {
        var y = layer(x);
        if (!ReferenceEquals(y, x)) x.Dispose();
        return y;
    }
}

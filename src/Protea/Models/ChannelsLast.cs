using TorchSharp;
using static TorchSharp.torch;

namespace Protea.Models;

/// <summary>
/// Channels-last (NHWC) memory layout without a memory-format API (TorchSharp 0.107 has none): a
/// permute-contiguous-permute gives an NCHW-shaped tensor with NHWC strides, which libtorch's
/// oneDNN convolutions, BatchNorm and pooling keep and run much faster on (measured at batch 128,
/// 32x28x28: conv forward 10 ms vs 29 ms, max-pool 1 ms vs 11 ms). Convolutions take this layout
/// only where <see cref="ConvLayoutGuard"/> has verified it on this CPU; the layers after a
/// channels-last convolution (and the gradients flowing back) then stay channels-last.
/// </summary>
public static class ChannelsLast
{
    public static Tensor Convert(Tensor x) => x.permute(0, 2, 3, 1).contiguous().permute(0, 3, 1, 2);

    /// <summary>True when a 4-d tensor is laid out NHWC (channel stride 1, width stride C).</summary>
    public static bool Is(Tensor x)
    {
        if (x.dim() != 4) return false;
        var s = x.stride();
        return s[1] == 1 && s[3] == x.shape[1] && x.shape[1] > 1;
    }
}

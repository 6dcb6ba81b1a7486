namespace Protea.Models;

/// <summary>The memory layout a convolution's input is given in; the output follows it.</summary>
public enum ConvLayout
{
    /// <summary>Contiguous NCHW: libtorch's reference layout, right everywhere.</summary>
    Nchw,

    /// <summary>NHWC strides under an NCHW shape (see <see cref="ChannelsLast"/>): oneDNN's fast path, used only where verified.</summary>
    ChannelsLast,
}

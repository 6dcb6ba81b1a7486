using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Protea.Models;

/// <summary>
/// One convolution problem as oneDNN sees it, less the batch size: what decides which kernel runs,
/// and so the key under which <see cref="ConvLayoutGuard"/> verifies and remembers a layout.
/// </summary>
public readonly record struct ConvConfig(
    long InChannels, long OutChannels, long KernelH, long KernelW, long StrideH, long StrideW,
    long PadH, long PadW, long DilationH, long DilationW, long Groups, long Height, long Width, ScalarType DType)
{
    public static ConvConfig Of(Conv2d conv, Tensor input) => new(
        conv.in_channels, conv.out_channels, conv.kernel_size[0], conv.kernel_size[^1], conv.stride[0], conv.stride[^1],
        conv.padding![0], conv.padding[^1], conv.dilation[0], conv.dilation[^1], conv.groups, input.shape[2], input.shape[3], input.dtype);

    /// <summary>The convolution this configuration describes, on given input and weight tensors.</summary>
    public Tensor Apply(Tensor input, Tensor weight, Tensor? bias = null) => nn.functional.conv2d(
        input, weight, bias, strides: [StrideH, StrideW], padding: [PadH, PadW], dilation: [DilationH, DilationW], groups: Groups);

    /// <summary>E.g. "conv 1x1 256->512 stride 2 pad 0 on 8x8 (float32)".</summary>
    public override string ToString()
    {
        var stride = StrideH == StrideW ? $"{StrideH}" : $"{StrideH}x{StrideW}";
        var pad = PadH == PadW ? $"{PadH}" : $"{PadH}x{PadW}";
        var extra = (DilationH != 1 || DilationW != 1 ? $" dilation {DilationH}x{DilationW}" : "") + (Groups != 1 ? $" groups {Groups}" : "");
        return $"conv {KernelH}x{KernelW} {InChannels}->{OutChannels} stride {stride} pad {pad}{extra} on {Height}x{Width} ({DType.ToString().ToLowerInvariant()})";
    }
}

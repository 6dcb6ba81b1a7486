using static TorchSharp.torch;

namespace Protea.Tests.Models;

public sealed class TorchNativeTests
{
    [Fact]
    public void Torch_LoadsAndRunsAConvolution()
    {
        // A 3x3 box filter of ones over a 4x4 ramp: each output is the sum of its 3x3 window.
        using var x = arange(16, dtype: float32).reshape(1, 1, 4, 4);
        using var w = ones(1, 1, 3, 3);
        using var y = nn.functional.conv2d(x, w);
        Assert.Equal(new float[] { 45, 54, 81, 90 }, y.data<float>().ToArray());
    }
}

using Protea.Models;
using static TorchSharp.torch;

namespace Protea.Tests.Models;

/// <summary>The block copy gives what TorchSharp's element-by-element accessor gives, for views and other dtypes too.</summary>
public class TensorCopyTests
{
    [Fact]
    public void A_tensor_and_its_views_copy_in_row_major_order()
    {
        using var scope = NewDisposeScope();
        var m = arange(0, 24, dtype: ScalarType.Float32).reshape(4, 6);
        Assert.Equal(Enumerable.Range(0, 24).Select(i => (float)i), m.ToFloats());
        Assert.Equal([12f, 13, 14, 15, 16, 17], m[2].ToFloats());                     // a row: a view with a storage offset
        Assert.Equal([8f, 9, 14, 15], m.narrow(0, 1, 2).narrow(1, 2, 2).ToFloats());   // not contiguous
        Assert.Equal([0f, 6, 12, 18, 1, 7, 13, 19], m.t().narrow(0, 0, 2).ToFloats());
        Assert.Equal([0.5f, -2, 3], tensor(new[] { 0.5, -2, 3 }).ToFloats());          // float64 in
        Assert.Empty(zeros(0, 3).ToFloats());
    }
}

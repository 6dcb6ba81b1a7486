using Protea.Mil;
using Protea.Tests.Support;
using TorchSharp;
using static TorchSharp.torch;

namespace Protea.Tests.Mil;

/// <summary>Patch boxes and pixels against a NumPy oracle written from the rule (stride steps, then one patch flush with each edge).</summary>
public sealed class PatchCuttingTests
{
    private const string Oracle = """
        import sys, json
        import numpy as np
        c, h, w, p, s = (int(a) for a in sys.argv[2:7])
        img = np.fromfile(sys.argv[1], dtype=np.uint8).reshape(c, h, w)
        def starts(n):
            out = list(range(0, n - p + 1, s))
            if out[-1] + p < n:
                out.append(n - p)
            return out
        boxes = [(x, y) for y in starts(h) for x in starts(w)]
        windows = np.lib.stride_tricks.sliding_window_view(img, (p, p), axis=(1, 2))  # [c, h-p+1, w-p+1, p, p]
        patches = np.stack([windows[:, y, x] for x, y in boxes])
        patches.tofile(sys.argv[7])
        print(json.dumps(boxes))
        """;

    [Theory]
    [InlineData(3, 37, 50, 16, 10)]   // stride < patch, edges not reached: flush patches added
    [InlineData(1, 56, 84, 28, 28)]   // exact tiling
    [InlineData(1, 30, 30, 8, 12)]    // stride > patch (gaps), edge patch
    [InlineData(3, 20, 33, 20, 5)]    // one row only
    public void Boxes_and_pixels_match_numpy(int c, int h, int w, int p, int s)
    {
        using var scope = NewDisposeScope();
        using var dir = new TempDir();
        var generator = new torch.Generator(11);
        var pixels = randint(0, 256, [c, h, w], generator: generator).to(ScalarType.Byte);
        File.WriteAllBytes(dir.File("img.raw"), pixels.bytes.ToArray());
        var json = Python.Run(Oracle, dir.File("img.raw"), $"{c}", $"{h}", $"{w}", $"{p}", $"{s}", dir.File("patches.raw"));
        var expectedBoxes = System.Text.Json.JsonDocument.Parse(json).RootElement.EnumerateArray()
            .Select(e => (e[0].GetInt32(), e[1].GetInt32())).ToArray();
        using var bag = BagImage.FromPixels("test", pixels.clone(), PatchGrid.Create(p, s), background: null);
        Assert.Equal(expectedBoxes, bag.Boxes.Select(b => (b.X, b.Y)).ToArray());
        Assert.All(bag.Boxes, b => Assert.Equal((p, p), (b.Width, b.Height)));
        var stacked = bag.Stack(0, bag.Count);
        Assert.Equal(File.ReadAllBytes(dir.File("patches.raw")), stacked.bytes.ToArray());
    }

    [Fact]
    public void Patches_are_views_of_the_image()
    {
        using var bag = BagImage.FromPixels("test", zeros([1, 8, 8], ScalarType.Byte), PatchGrid.Create(4), background: null);
        using var patch = bag.Patch(3); // x 4, y 4
        using (var one = 200.ToScalar()) bag.Pixels[0, 5, 6].fill_(one);
        Assert.Equal(200, patch[0, 1, 2].item<byte>());
    }

    [Fact]
    public void Background_patches_are_dropped_by_mean_intensity()
    {
        // 2x2 grid of 4x4 patches: means 0, 10/255, 128/255, 1.
        var pixels = zeros([1, 8, 8], ScalarType.Byte);
        using (var v = 10.ToScalar()) pixels.narrow(1, 0, 4).narrow(2, 4, 4).fill_(v);
        using (var v = 128.ToScalar()) pixels.narrow(1, 4, 4).narrow(2, 0, 4).fill_(v);
        using (var v = 255.ToScalar()) pixels.narrow(1, 4, 4).narrow(2, 4, 4).fill_(v);
        using (var dark = BagImage.FromPixels("a", pixels.clone(), PatchGrid.Create(4), BackgroundFilter.Parse("dark:0.05")))
            Assert.Equal([(0, 4), (4, 4)], dark.Boxes.Select(b => (b.X, b.Y)));
        using (var bright = BagImage.FromPixels("b", pixels.clone(), PatchGrid.Create(4), BackgroundFilter.Parse("bright:0.9")))
            Assert.Equal([(0, 0), (4, 0), (0, 4)], bright.Boxes.Select(b => (b.X, b.Y)));
        var empty = Assert.Throws<ProteaException>(() => BagImage.FromPixels("c", pixels, PatchGrid.Create(4), BackgroundFilter.Parse("bright:0")));
        Assert.Equal("background", empty.Field);
        Assert.Contains("empty", empty.Message);
    }

    [Fact]
    public void A_patch_larger_than_the_image_is_refused()
    {
        var e = Assert.Throws<ProteaException>(() => PatchGrid.Create(64).Boxes(50, 80, "big.png"));
        Assert.Equal("patch", e.Field);
        Assert.Equal("big.png: patch size 64 px is larger than the image (50x80 px)", e.Message);
    }

    [Theory]
    [InlineData("dark")]
    [InlineData("dark:2")]
    [InlineData("grey:0.5")]
    public void A_bad_background_filter_is_refused(string text) =>
        Assert.Equal("background", Assert.Throws<ProteaException>(() => BackgroundFilter.Parse(text)).Field);
}

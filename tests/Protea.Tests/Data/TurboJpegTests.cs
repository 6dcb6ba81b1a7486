using Protea.Data;
using Protea.Tests.Support;
using static TorchSharp.torch;

namespace Protea.Tests.Data;

/// <summary>
/// JPEG decoding through the system's libjpeg-turbo: the oracle for pixels is PIL (Debian's python3-pil over
/// its own libjpeg-turbo, the accurate DCT), for damaged files the SkiaSharp path the decoder falls back to.
/// </summary>
public sealed class TurboJpegTests
{
    /// <summary>PIL writes the JPEGs (name → how) and, beside each, its own decode: name.rgb (RGB planes) and name.l (luma).</summary>
    private const string MakeJpegs = """
        import sys, os
        import numpy as np
        from PIL import Image
        root = sys.argv[1]
        rng = np.random.default_rng(7)
        def picture(w, h):
            y, x = np.mgrid[0:h, 0:w]
            base = np.stack([x * 255 // max(w - 1, 1), y * 255 // max(h - 1, 1), (x + y) * 127 // (w + h)], -1)
            return np.clip(base + rng.integers(-40, 40, (h, w, 3)), 0, 255).astype(np.uint8)
        specs = {
            "rgb.jpg": (64, 48, "RGB", dict(quality=90)),
            "odd.jpg": (97, 61, "RGB", dict(quality=75)),
            "s444.jpg": (33, 17, "RGB", dict(quality=95, subsampling=0)),
            "s422.jpg": (31, 19, "RGB", dict(quality=80, subsampling=1)),
            "prog.jpg": (97, 61, "RGB", dict(quality=85, progressive=True)),
            "gray.jpg": (41, 29, "L", dict(quality=90)),
            "cmyk.jpg": (20, 12, "CMYK", dict(quality=90)),
        }
        for name, (w, h, mode, options) in specs.items():
            image = Image.fromarray(picture(w, h))
            image = image.convert(mode)
            path = os.path.join(root, name)
            image.save(path, "JPEG", **options)
            back = Image.open(path)
            assert back.mode == mode, (name, back.mode)
            rgb = np.asarray(back.convert("RGB")).transpose(2, 0, 1)
            open(path[:-4] + ".rgb", "wb").write(rgb.tobytes())
            open(path[:-4] + ".l", "wb").write(np.asarray(back.convert("L")).tobytes())
            print(name, w, h)
        """;

    private static Dictionary<string, (int Width, int Height)> Generate(TempDir dir) => Generate(dir.Path);

    private static Dictionary<string, (int Width, int Height)> Generate(string root) =>
        Python.Run(MakeJpegs, root).Split('\n', StringSplitOptions.RemoveEmptyEntries)
            .Select(line => line.Split(' '))
            .ToDictionary(p => p[0], p => (int.Parse(p[1]), int.Parse(p[2])));

    private static byte[] Decode(string path, int channels, int height, int width, bool skia)
    {
        ImageDecoder.ForceSkia.Value = skia;
        try
        {
            var pixels = new byte[channels * height * width];
            ImageDecoder.DecodeInto(path, channels, height, width, pixels);
            return pixels;
        }
        finally
        {
            ImageDecoder.ForceSkia.Value = false;
        }
    }

    private static int MaxDifference(byte[] a, byte[] b)
    {
        Assert.Equal(a.Length, b.Length);
        return a.Zip(b, (x, y) => Math.Abs(x - y)).Max();
    }

    [Fact]
    public void LibraryIsInstalled_AndUsed()
    {
        // scripts/setup installs libturbojpeg0; without it every JPEG would quietly take the slower path.
        Assert.True(TurboJpeg.IsAvailable);
        Assert.True(ImageDecoder.UseTurboJpeg);
        ImageDecoder.ForceSkia.Value = true;
        Assert.False(ImageDecoder.UseTurboJpeg);
        ImageDecoder.ForceSkia.Value = false;
    }

    [Fact]
    public void Decode_AtNativeSize_EqualsPil_RgbAndLuma()
    {
        using var dir = new TempDir();
        var sizes = Generate(dir);
        foreach (var (name, (w, h)) in sizes.Where(s => s.Key != "cmyk.jpg"))
        {
            var path = dir.File(name);
            var pilRgb = File.ReadAllBytes(path[..^4] + ".rgb");
            var pilLuma = File.ReadAllBytes(path[..^4] + ".l");

            // The TurboJPEG API itself: RGBA at the header's size, the RGB equal to PIL's.
            var encoded = File.ReadAllBytes(path);
            Assert.True(TurboJpeg.TryReadHeader(encoded, out int tw, out int th), name);
            Assert.Equal((w, h), (tw, th));
            var rgba = new byte[4 * w * h];
            Assert.True(TurboJpeg.TryDecodeRgba(encoded, w, h, rgba), name);
            var planes = new byte[3 * w * h];
            for (int p = 0; p < w * h; p++)
                for (int c = 0; c < 3; c++)
                    planes[c * w * h + p] = rgba[4 * p + c];
            Assert.Equal(pilRgb, planes);
            Assert.All(Enumerable.Range(0, w * h), p => Assert.Equal(255, rgba[4 * p + 3]));

            // Through the decoder: identical to PIL (same libjpeg-turbo settings), RGB and PIL's luma.
            Assert.Equal(pilRgb, Decode(path, 3, h, w, skia: false));
            Assert.Equal(pilLuma, Decode(path, 1, h, w, skia: false));
            // And an upload's bytes the same as its file.
            var fromBytes = new byte[3 * w * h];
            ImageDecoder.DecodeInto(encoded, "upload", 3, h, w, fromBytes);
            Assert.Equal(pilRgb, fromBytes);
            // Not vacuous: real content.
            Assert.True(pilRgb.Max() - pilRgb.Min() > 100, name);
        }
    }

    [Fact]
    public void TurboAndSkiaPaths_Agree_AtNativeSizeAndResized()
    {
        using var dir = new TempDir();
        var sizes = Generate(dir);
        foreach (var (name, (w, h)) in sizes)
            foreach (var (channels, height, width) in new[] { (3, h, w), (1, h, w), (3, 16, 16), (3, 2 * h, 2 * w + 1), (1, 10, 7) })
            {
                var path = dir.File(name);
                var turbo = Decode(path, channels, height, width, skia: false);
                var skia = Decode(path, channels, height, width, skia: true);
                Assert.True(MaxDifference(turbo, skia) <= 1, $"{name} {channels}x{height}x{width}: {MaxDifference(turbo, skia)}");
            }
    }

    [Fact]
    public void Cmyk_IsLeftToSkia()
    {
        using var dir = new TempDir();
        Generate(dir);
        var path = dir.File("cmyk.jpg");
        Assert.False(TurboJpeg.TryReadHeader(File.ReadAllBytes(path), out _, out _));
        Assert.Equal(Decode(path, 3, 12, 20, skia: true), Decode(path, 3, 12, 20, skia: false));
    }

    [Fact]
    public void DamagedJpeg_SameErrorOrPixelsAsSkia_NamingTheFile()
    {
        using var dir = new TempDir();
        Generate(dir);
        foreach (var name in new[] { "rgb.jpg", "prog.jpg", "gray.jpg" })
        {
            var good = File.ReadAllBytes(dir.File(name));

            // Cut short: libjpeg-turbo warns, the SkiaSharp path reports it with its one-line message.
            var truncated = dir.File("cut-" + name);
            File.WriteAllBytes(truncated, good[..(good.Length / 2)]);
            Assert.False(TurboJpeg.TryDecodeRgba(good[..(good.Length / 2)], 64, 48, new byte[4 * 97 * 61]));
            var e = Assert.Throws<ProteaException>(() => Decode(truncated, 3, 8, 8, skia: false));
            var skiaError = Assert.Throws<ProteaException>(() => Decode(truncated, 3, 8, 8, skia: true));
            Assert.Equal(skiaError.Message, e.Message);
            Assert.StartsWith(truncated + ": ", e.Message);
            Assert.DoesNotContain('\n', e.Message);

            // Only the markers' start: no header to read.
            var stub = dir.File("stub-" + name);
            File.WriteAllBytes(stub, good[..4]);
            e = Assert.Throws<ProteaException>(() => Decode(stub, 3, 8, 8, skia: false));
            Assert.Equal(Assert.Throws<ProteaException>(() => Decode(stub, 3, 8, 8, skia: true)).Message, e.Message);
            Assert.StartsWith(stub + ": ", e.Message);

            // Garbage inside the entropy-coded data: whatever SkiaSharp made of it (pixels or an error), so does the decoder.
            var scrambled = dir.File("scrambled-" + name);
            var bytes = (byte[])good.Clone();
            for (int i = bytes.Length / 2; i < bytes.Length / 2 + 40; i++) bytes[i] = (byte)(i * 37);
            File.WriteAllBytes(scrambled, bytes);
            byte[]? skiaPixels = null, turboPixels = null;
            string? skiaMessage = null, turboMessage = null;
            try { skiaPixels = Decode(scrambled, 3, 8, 8, skia: true); } catch (ProteaException x) { skiaMessage = x.Message; }
            try { turboPixels = Decode(scrambled, 3, 8, 8, skia: false); } catch (ProteaException x) { turboMessage = x.Message; }
            Assert.Equal(skiaMessage, turboMessage);
            Assert.Equal(skiaPixels, turboPixels);
        }

        // Named .jpg but not a JPEG at all.
        var text = dir.File("notes.jpg");
        File.WriteAllText(text, "not an image at all");
        Assert.Equal($"{text}: not a PNG or JPEG image (cannot decode)", Assert.Throws<ProteaException>(() => Decode(text, 3, 8, 8, skia: false)).Message);
        var missing = dir.File("missing.jpg");
        Assert.Equal($"{missing}: no such file", Assert.Throws<ProteaException>(() => Decode(missing, 3, 8, 8, skia: false)).Message);
    }

    [Fact]
    public void FolderWithATruncatedJpeg_NamesIt_OrSkipsAndCountsIt()
    {
        using var dir = new TempDir();
        var made = dir.File("made");
        Directory.CreateDirectory(made);
        Generate(made);
        var root = dir.File("data");
        foreach (var (cls, names) in new[] { ("a", new[] { "rgb.jpg", "odd.jpg", "s444.jpg" }), ("b", new[] { "s422.jpg", "prog.jpg", "gray.jpg" }) })
        {
            Directory.CreateDirectory(Path.Combine(root, cls));
            foreach (var n in names) File.Copy(Path.Combine(made, n), Path.Combine(root, cls, n));
        }
        var bad = Path.Combine(root, "a", "odd.jpg");
        var bytes = File.ReadAllBytes(bad);
        File.WriteAllBytes(bad, bytes[..(bytes.Length / 2)]);

        foreach (var budget in new long?[] { null, 1 })
        {
            var options = new DataLoadOptions { CacheDirectory = dir.File($"cache{budget}"), MemoryBudget = budget, Workers = 2 };
            // In memory it stops while loading; streamed, when the first pass reaches the file.
            var error = Assert.Throws<ProteaException>(() =>
            {
                using var loaded = ImageFolderReader.Load(root, imageSize: 16, channels: 3, options: options);
                _ = loaded.Train.Inputs.data<byte>().ToArray();
            });
            Assert.Contains(bad, error.Message);
            Assert.DoesNotContain('\n', error.Message);

            var reports = new List<DataLoadReport>();
            using var splits = ImageFolderReader.Load(root, imageSize: 16, channels: 3, options: options with { SkipBad = true, Report = reports.Add });
            Assert.Equal(new[] { "a/odd.jpg" }, reports[0].Skipped);
            Assert.Equal(5, splits.Train.Count);
            // The good ones are the decoder's pixels (which the tests above hold to PIL's and SkiaSharp's).
            var expected = splits.Train.Ids.Select(id => Decode(Path.Combine(root, id), 3, 16, 16, skia: false)).SelectMany(p => p).ToArray();
            Assert.Equal(expected, splits.Train.Inputs.data<byte>().ToArray());
        }
    }
}

using Protea.Data;
using Protea.Tests.Support;
using SkiaSharp;
using static TorchSharp.torch;

namespace Protea.Tests.Data;

/// <summary>
/// The decoded cache and streaming: the oracle for pixels is the plain decoder (<see cref="ImageFolderReader.Load"/>
/// without options, which decodes every file afresh); the oracle for freshness is what the test did to the folder.
/// </summary>
public sealed class DecodedCacheTests
{
    /// <summary>A folder of 2 classes x <paramref name="perClass"/> 6x6 RGB PNGs, every pixel different.</summary>
    private static void MakeFolder(string root, int perClass = 5)
    {
        foreach (var (name, c) in new[] { ("cat", 0), ("dog", 1) })
            for (int i = 0; i < perClass; i++)
                TestImages.Write(Path.Combine(root, name, $"{i:D2}.png"), 6, 6,
                    (x, y) => new SKColor((byte)(x * 40 + i), (byte)(y * 40 + c * 7), (byte)(i * 20 + x + y)));
    }

    private static (DataSplits Splits, List<DataLoadReport> Reports) Load(string root, string cache, long? budget = null, bool skipBad = false)
    {
        var reports = new List<DataLoadReport>();
        var options = new DataLoadOptions { CacheDirectory = cache, MemoryBudget = budget, Workers = 2, SkipBad = skipBad, Report = reports.Add };
        return (ImageFolderReader.Load(root, options: options), reports);
    }

    private static void AssertSamePixels(Dataset expected, Dataset actual)
    {
        Assert.Equal(expected.Ids, actual.Ids);
        Assert.Equal(expected.Labels, actual.Labels);
        Assert.Equal(expected.Inputs.shape, actual.Inputs.shape);
        Assert.Equal(expected.Inputs.data<byte>().ToArray(), actual.Inputs.data<byte>().ToArray());
    }

    [Fact]
    public void FirstLoadBuilds_SecondReadsTheCache_PixelsAsDecoded()
    {
        using var dir = new TempDir();
        var root = dir.File("data");
        MakeFolder(root);
        using var decoded = ImageFolderReader.Load(root);

        var (first, firstReports) = Load(root, dir.File("cache"));
        using (first) AssertSamePixels(decoded.Train, first.Train);
        Assert.Equal("built", Assert.Single(firstReports).CacheState);
        Assert.False(firstReports[0].Streamed);
        Assert.True(File.Exists(firstReports[0].CacheFile));

        var (second, secondReports) = Load(root, dir.File("cache"));
        using (second) AssertSamePixels(decoded.Train, second.Train);
        Assert.Equal("hit", secondReports[0].CacheState);
        Assert.Equal(firstReports[0].CacheFile, secondReports[0].CacheFile);

        // A hit reads pixels from the cache, not the images: a pixel changed in the cache's item bytes (which
        // nothing checksums) shows up in the loaded data. Item 0 starts right after the 4096-byte header.
        var cacheBytes = File.ReadAllBytes(firstReports[0].CacheFile!);
        cacheBytes[4096] ^= 0xFF;
        File.WriteAllBytes(firstReports[0].CacheFile!, cacheBytes);
        var (third, _) = Load(root, dir.File("cache"));
        using (third)
            Assert.Equal((byte)(decoded.Train.Inputs[0, 0, 0, 0].item<byte>() ^ 0xFF), third.Train.Inputs[0, 0, 0, 0].item<byte>());
    }

    [Theory]
    [InlineData("changed")]
    [InlineData("added")]
    [InlineData("removed")]
    public void AChangedFolder_RebuildsTheCache(string change)
    {
        using var dir = new TempDir();
        var root = dir.File("data");
        MakeFolder(root);
        Load(root, dir.File("cache")).Splits.Dispose();

        var target = Path.Combine(root, "dog", "02.png");
        switch (change)
        {
            case "changed":
                TestImages.Write(target, 6, 6, (_, _) => new SKColor(1, 2, 3));
                File.SetLastWriteTimeUtc(target, DateTime.UtcNow.AddMinutes(5)); // a rewrite within the clock's tick still counts
                break;
            case "added":
                TestImages.Write(Path.Combine(root, "dog", "99.png"), 6, 6, (_, _) => new SKColor(9, 9, 9));
                break;
            case "removed":
                File.Delete(target);
                break;
        }
        using var decoded = ImageFolderReader.Load(root);
        var (again, reports) = Load(root, dir.File("cache"));
        using (again) AssertSamePixels(decoded.Train, again.Train);
        Assert.Equal("rebuilt (the folder changed)", reports[0].CacheState);
    }

    [Theory]
    [InlineData("truncated", "truncated")]
    [InlineData("header", "damaged header")]
    [InlineData("garbage", "not a decoded cache")]
    [InlineData("longer", "damaged (too long)")]
    public void ADamagedCache_IsRebuiltNeverRead(string damage, string why)
    {
        using var dir = new TempDir();
        var root = dir.File("data");
        MakeFolder(root);
        var (first, reports) = Load(root, dir.File("cache"));
        first.Dispose();
        var file = reports[0].CacheFile!;
        var bytes = File.ReadAllBytes(file);
        switch (damage)
        {
            case "truncated": File.WriteAllBytes(file, bytes[..^40]); break;
            case "header": var copy = bytes.ToArray(); copy[12] ^= 0xFF; File.WriteAllBytes(file, copy); break; // the item count
            case "garbage": File.WriteAllBytes(file, new byte[bytes.Length]); break;
            case "longer": File.WriteAllBytes(file, [.. bytes, 0]); break;
        }
        using var decoded = ImageFolderReader.Load(root);
        var (again, againReports) = Load(root, dir.File("cache"));
        using (again) AssertSamePixels(decoded.Train, again.Train);
        Assert.Equal($"rebuilt ({why})", againReports[0].CacheState);
        Assert.Equal(bytes, File.ReadAllBytes(file)); // rebuilt to the very same file
        Assert.Empty(Directory.GetFiles(dir.File("cache"), "*.tmp-*"));
    }

    [Fact]
    public void OverTheBudget_Streams_SamePixelsSubsetsAndSlices()
    {
        using var dir = new TempDir();
        var root = dir.File("data");
        MakeFolder(root, perClass: 7);
        using var decoded = ImageFolderReader.Load(root);
        var (streamed, reports) = Load(root, dir.File("cache"), budget: 1000); // 14 x 108 bytes > 1000
        using (streamed)
        {
            var data = streamed.Train;
            Assert.True(reports[0].Streamed);
            Assert.True(data.IsStreamed);
            Assert.Equal(decoded.Train.ExampleShape, data.ExampleShape);
            long[] pick = [13, 0, 5, 5, 8];
            using var index = tensor(pick);
            using var expected = decoded.Train.Inputs.index_select(0, index);
            using var got = data.Gather(index);
            Assert.Equal(expected.data<byte>().ToArray(), got.data<byte>().ToArray());
            using var slice = data.Slice(3, 4);
            Assert.Equal(decoded.Train.Inputs.narrow(0, 3, 4).contiguous().data<byte>().ToArray(), slice.data<byte>().ToArray());
            // A subset stays streamed and keeps its ids.
            using var subset = data.Subset([6, 2]);
            Assert.True(subset.IsStreamed);
            Assert.Equal(new[] { decoded.Train.Ids[6], decoded.Train.Ids[2] }, subset.Ids);
            using var sub = subset.Gather([1L, 0L]);
            using var subExpected = decoded.Train.Inputs.index_select(0, tensor(new long[] { 2, 6 }));
            Assert.Equal(subExpected.data<byte>().ToArray(), sub.data<byte>().ToArray());
        }
    }

    [Fact]
    public void CorruptImageMidFolder_NamesTheFile_OrIsSkippedAndCounted()
    {
        using var dir = new TempDir();
        var root = dir.File("data");
        MakeFolder(root);
        // A PNG cut short passes the header probe and fails only when decoded; a .png of noise fails the probe.
        var truncated = Path.Combine(root, "cat", "02.png");
        var bytes = File.ReadAllBytes(truncated);
        File.WriteAllBytes(truncated, bytes[..^30]);
        Assert.NotNull(ImageDecoder.Probe(truncated));

        var error = Assert.Throws<ProteaException>(() => Load(root, dir.File("cache")));
        Assert.Contains(truncated, error.Message);
        Assert.DoesNotContain('\n', error.Message);
        Assert.Empty(Directory.GetFiles(dir.File("cache")));

        var noise = Path.Combine(root, "dog", "03.png");
        File.WriteAllBytes(noise, [1, 2, 3, 4, 5, 6, 7, 8]);
        foreach (var budget in new long?[] { null, 1 })
        {
            var (splits, reports) = Load(root, dir.File("cache"), budget, skipBad: true);
            using (splits)
            {
                Assert.Equal(8, splits.Train.Count);
                Assert.Equal(new[] { "cat/02.png", "dog/03.png" }, reports[0].Skipped.Order(StringComparer.Ordinal));
                Assert.DoesNotContain("cat/02.png", splits.Train.Ids);
                Assert.DoesNotContain("dog/03.png", splits.Train.Ids);
                Assert.Equal(budget is not null, splits.Train.IsStreamed);
                // The good images are the decoder's pixels.
                var good = splits.Train.Ids.Select(id => ImageDecoder.Decode(Path.Combine(root, id), 3, 6, 6)).ToList();
                using var expected = stack(good);
                Assert.Equal(expected.data<byte>().ToArray(), splits.Train.Inputs.data<byte>().ToArray());
                foreach (var g in good) g.Dispose();
            }
        }
        // The cache built while skipping records the bad file: without skipping, it still stops with its name.
        File.Delete(noise);
        Load(root, dir.File("cache"), skipBad: true).Splits.Dispose();
        var again = Assert.Throws<ProteaException>(() => Load(root, dir.File("cache")));
        Assert.Contains(truncated, again.Message);
    }

    [Fact]
    public void Streamed_FirstPassFillsTheCache_IdenticalToOneBuiltUpFront()
    {
        using var dir = new TempDir();
        var root = dir.File("data");
        MakeFolder(root, perClass: 7);
        using var decoded = ImageFolderReader.Load(root);
        var (upFront, upFrontReports) = Load(root, dir.File("built"));
        upFront.Dispose();
        Assert.Equal("built", upFrontReports[0].CacheState);

        var (streamed, reports) = Load(root, dir.File("filled"), budget: 1);
        using (streamed)
        {
            var data = streamed.Train;
            var file = reports[0].CacheFile!;
            Assert.Equal("filling", reports[0].CacheState);
            Assert.True(data.IsStreamed);
            Assert.False(File.Exists(file)); // nothing valid-looking until every item is written
            using var generator = new TorchSharp.torch.Generator(3);
            var plan = new Protea.Training.Sampling.RandomBatchSampler().Epoch(data.Labels, 4, generator);
            using (var source = new BatchSource(data, plan))
                for (int b = 0; b < plan.Count; b++)
                {
                    using var scope = NewDisposeScope();
                    var got = source.Batch(b);
                    var expected = decoded.Train.Inputs.index_select(0, plan[b]);
                    Assert.Equal(expected.data<byte>().ToArray(), got.data<byte>().ToArray());
                    // Batch b starts the read-ahead of batch b + PrefetchDepth, so only before that reaches the last
                    // batch is the fill certainly unfinished.
                    if (b + BatchSource.PrefetchDepth < plan.Count - 1) Assert.False(File.Exists(file));
                }
            foreach (var p in plan) p.Dispose();
            // The epoch read every item once: the cache is now the very file a build up front writes.
            Assert.True(File.Exists(file));
            Assert.Equal(File.ReadAllBytes(upFrontReports[0].CacheFile!), File.ReadAllBytes(file));
            Assert.Empty(Directory.GetFiles(dir.File("filled"), "*.tmp-*"));
            // Reads after the fill come from the file, the same pixels.
            using var again = data.Gather([13L, 0L]);
            using var index = tensor(new long[] { 13, 0 });
            using var expectedAgain = decoded.Train.Inputs.index_select(0, index);
            Assert.Equal(expectedAgain.data<byte>().ToArray(), again.data<byte>().ToArray());
        }
        var (next, nextReports) = Load(root, dir.File("filled"), budget: 1);
        using (next) AssertSamePixels(decoded.Train, next.Train);
        Assert.Equal("hit", nextReports[0].CacheState);
    }

    [Fact]
    public void InterruptedFirstPass_LeavesNoValidCache()
    {
        using var dir = new TempDir();
        var root = dir.File("data");
        MakeFolder(root, perClass: 7);
        var cacheDir = dir.File("cache");
        var (first, reports) = Load(root, cacheDir, budget: 1);
        var file = reports[0].CacheFile!;
        using (first)
        {
            using var part = first.Train.Gather([0L, 1L, 2L, 9L]); // part of the first pass, then the run stops
            Assert.False(File.Exists(file));
            Assert.Single(Directory.GetFiles(cacheDir, "*.tmp-*"));

            // A run started meanwhile (or after a kill) finds no cache: it fills its own.
            var (second, secondReports) = Load(root, cacheDir, budget: 1);
            using (second) Assert.Equal("filling", secondReports[0].CacheState);
        }
        // A temporary file of a process that no longer runs (killed mid-fill) is removed by the next fill.
        var orphan = file + ".tmp-999999999-0123";
        File.WriteAllBytes(orphan, new byte[4096]);
        var (third, thirdReports) = Load(root, cacheDir, budget: 1);
        using (third)
        {
            Assert.Equal("filling", thirdReports[0].CacheState);
            Assert.False(File.Exists(orphan));
        }
        var (fourth, fourthReports) = Load(root, cacheDir, budget: 1);
        using (fourth) Assert.NotEqual("hit", fourthReports[0].CacheState);
    }

    [Fact]
    public void Abandon_DeletesTheTemporaryFile_AndNoCacheIsLeft()
    {
        using var dir = new TempDir();
        var root = dir.File("data");
        MakeFolder(root);
        var files = ImageFolderReader.FindImages(root).Select(h => h.Path).ToList();
        var (cache, state) = DecodedCache.OpenOrBegin(dir.File("cache"), root, files, 3, 6, 6);
        Assert.Equal("filling", state);
        var buffer = new byte[cache.ItemBytes];
        cache.ReadItem(4, buffer);
        using var expected = ImageDecoder.Decode(files[4], 3, 6, 6);
        Assert.Equal(expected.data<byte>().ToArray(), buffer);
        Assert.Single(Directory.GetFiles(dir.File("cache"), "*.tmp-*"));
        cache.Abandon();
        Assert.Empty(Directory.GetFiles(dir.File("cache")));
        Assert.Throws<ObjectDisposedException>(() => cache.ReadItem(5, buffer));
        var (built, builtState) = DecodedCache.OpenOrBuild(dir.File("cache"), root, files, 3, 6, 6, 2, skipBad: false);
        Assert.Equal("built", builtState);
        Assert.True(built.IsComplete);
    }

    [Fact]
    public void CorruptImage_WhileFillingInTheFirstEpoch_NamesTheFile()
    {
        using var dir = new TempDir();
        var root = dir.File("data");
        MakeFolder(root);
        var truncated = Path.Combine(root, "dog", "01.png");
        File.WriteAllBytes(truncated, File.ReadAllBytes(truncated)[..^30]);
        var (streamed, reports) = Load(root, dir.File("cache"), budget: 1);
        using (streamed)
        {
            Assert.Equal("filling", reports[0].CacheState);
            using var fine = streamed.Train.Gather([0L, 1L]);
            var plan = new[] { tensor(new long[] { 2, 6, 3 }) }; // dog/01.png is item 6
            using var source = new BatchSource(streamed.Train, plan);
            var error = Assert.Throws<ProteaException>(() => source.Batch(0));
            Assert.Contains(truncated, error.Message);
            plan[0].Dispose();
            Assert.False(File.Exists(reports[0].CacheFile));
        }
    }
}

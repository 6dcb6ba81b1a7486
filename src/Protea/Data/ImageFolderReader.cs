namespace Protea.Data;

/// <summary>
/// Reads a directory with one sub-folder of images per class (torchvision's ImageFolder layout), or one
/// with <c>train/</c> and optional <c>test/</c> folders each laid out that way. Class names are the sorted
/// union of the folder names, so a class has the same index in both splits. A folder named
/// <c>unlabelled</c> beside the class folders holds images of no class (label -1). Each image's id is its
/// path relative to the directory, with '/' separators ("train/cat/1.png").
/// </summary>
public static class ImageFolderReader
{
    public const string TrainFolder = "train";
    public const string TestFolder = "test";
    public const string UnlabelledFolder = "unlabelled";

    /// <summary>
    /// Loads all images as uint8 [N, C, H, W]. <paramref name="imageSize"/> resizes to a square side;
    /// without it every image must have the same size. <paramref name="channels"/> is 1 or 3; without it,
    /// 1 when every image is grayscale, else 3. <paramref name="classes"/> keeps only those classes
    /// (the other folders are not read).
    /// </summary>
    /// <param name="options">Memory budget, decoded cache, workers and bad images (<see cref="DataLoadOptions"/>); null: all in memory, no cache.</param>
    public static DataSplits Load(string directory, int? imageSize = null, int? channels = null, ClassSubset? classes = null,
        DataLoadOptions? options = null)
    {
        var roots = SplitRoots(directory);
        var datasets = Read(directory, roots, roots, imageSize, channels, classes, options ?? DataLoadOptions.InMemory);
        return new DataSplits(datasets[0], datasets.Count > 1 ? datasets[1] : null);
    }

    /// <summary>
    /// What evaluation runs on: <c>test/</c> when the directory has one (the images in <c>train/</c> are
    /// not read; only its folder names count, so class indices are those of training), else all images.
    /// </summary>
    public static (Dataset Data, bool IsTestSplit) LoadEvaluationSet(string directory, int? imageSize = null, int? channels = null,
        ClassSubset? classes = null, DataLoadOptions? options = null)
    {
        var roots = SplitRoots(directory);
        bool hasTest = roots.Count > 1;
        var data = Read(directory, roots, hasTest ? [roots[1]] : roots, imageSize, channels, classes, options ?? DataLoadOptions.InMemory)[0];
        return (data, hasTest);
    }

    /// <summary>
    /// Reads the images of <paramref name="load"/> (some of <paramref name="roots"/>), class names being the
    /// union over all <paramref name="roots"/>; each file is probed once and decoded once.
    /// </summary>
    private static List<Dataset> Read(string directory, List<string> roots, List<string> load, int? imageSize, int? channels,
        ClassSubset? classes, DataLoadOptions options)
    {
        options.Validate();
        if (options.SkipBad && options.CacheDirectory is null)
            throw new ProteaException("skipping bad images needs the decoded cache; give a cache folder", "skip_bad");
        var skipped = options.SkipBad ? new List<string>() : null;
        if (channels is { } c && c != 1 && c != 3)
            throw new ArgumentOutOfRangeException(nameof(channels), c, "must be 1 or 3");
        if (imageSize is < 1)
            throw new ArgumentOutOfRangeException(nameof(imageSize), imageSize, "must be at least 1");

        var folders = roots.ToDictionary(root => root, ListFolders);
        var allClasses = folders.Values.SelectMany(names => names).Where(n => n != UnlabelledFolder)
            .Distinct().Order(StringComparer.Ordinal).ToList();
        if (allClasses.Count == 0)
            throw new ProteaException(
                $"{directory}: no class folders; put each class's images in its own sub-folder, e.g. {Path.Combine(roots[0], "cat", "1.png")}");
        var chosen = classes?.Resolve(allClasses) ?? Enumerable.Range(0, allClasses.Count).ToArray();
        var classNames = chosen.Select(i => allClasses[i]).ToList();
        var labelOf = classNames.Select((name, i) => (name, i)).ToDictionary(p => p.name, p => (long)p.i);
        labelOf[UnlabelledFolder] = -1;

        // Per split, its folders in sorted order with their images in sorted order.
        var headers = load
            .Select(root => folders[root].Where(labelOf.ContainsKey)
                .Select(name => (Label: labelOf[name], Images: name == UnlabelledFolder
                    ? FindImages(Path.Combine(root, name), skipped)
                    : ProbeClassFolder(Path.Combine(root, name), skipped)))
                .ToList())
            .ToList();
        if (classes is not null && !headers[0].Any(f => f.Label >= 0))
            throw new ProteaException(
                $"{load[0]}: no examples of the classes '{classes}' ({string.Join(", ", classNames)})", ClassSubset.Field);
        var all = headers.SelectMany(split => split.SelectMany(f => f.Images)).ToList();
        if (all.Count == 0)
            throw new ProteaException($"{load[0]}: no images to read; add some to its class folders");
        int outChannels = channels ?? (all.All(h => h.IsGray) ? 1 : 3);
        var (height, width) = imageSize is { } side ? (side, side) : CommonSize(directory, all);

        var itemBytes = (long)outChannels * height * width;
        var streamed = options.CacheDirectory is not null && options.MemoryBudget is { } budget && all.Count * itemBytes > budget;
        var datasets = new List<Dataset>();
        try
        {
            for (int s = 0; s < load.Count; s++)
            {
                var files = headers[s].SelectMany(f => f.Images.Select(image => image.Path)).ToList();
                var labels = headers[s].SelectMany(f => f.Images.Select(_ => f.Label)).ToArray();
                var ids = files.Select(f => Id(directory, f)).ToArray();
                if (options.CacheDirectory is null)
                {
                    var tensor = ImageDecoder.DecodeMany(files, outChannels, height, width);
                    datasets.Add(new Dataset(tensor, labels, classNames, InputKind.Image, load[s], ids));
                    options.Report?.Invoke(new DataLoadReport(load[s], files.Count, false, files.Count * itemBytes, options.MemoryBudget, null, "none", []));
                    continue;
                }
                // Streamed: the cache is filled by the first epoch's reads (decoded on the workers as batches are read),
                // unless bad images are skipped, which must be known before the epochs are planned: then it is built first.
                var (cache, state) = streamed && !options.SkipBad
                    ? DecodedCache.OpenOrBegin(options.CacheDirectory, load[s], files, outChannels, height, width)
                    : DecodedCache.OpenOrBuild(options.CacheDirectory, load[s], files, outChannels, height, width,
                        options.WorkerCount, options.SkipBad, options.Progress);
                if (!options.SkipBad && cache.Bad.Count > 0)
                    throw new ProteaException(cache.Bad[cache.Bad.Keys.Min()]);
                var rows = Enumerable.Range(0, files.Count).Where(i => !cache.Bad.ContainsKey(i)).Select(i => (long)i).ToArray();
                var splitSkipped = (skipped ?? []).Where(f => f.StartsWith(load[s] + Path.DirectorySeparatorChar, StringComparison.Ordinal))
                    .Select(f => Id(directory, f)).Concat(cache.Bad.Keys.Order().Select(i => ids[i])).ToList();
                var data = new Dataset(cache, rows, rows.Select(i => labels[i]).ToArray(), classNames, load[s],
                    rows.Select(i => ids[i]).ToArray(), options.WorkerCount);
                if (!streamed)
                {
                    // Fits the budget: into memory, read from the cache (not decoded again), the fast path.
                    var inMemory = new Dataset(ReadAll(cache, rows), data.Labels, classNames, InputKind.Image, load[s], data.Ids);
                    data = inMemory;
                }
                datasets.Add(data);
                options.Report?.Invoke(new DataLoadReport(load[s], rows.Length, streamed, rows.Length * itemBytes, options.MemoryBudget,
                    cache.Path, state, splitSkipped));
            }
        }
        catch
        {
            foreach (var d in datasets) d.Dispose();
            throw;
        }
        return datasets;
    }

    private static string Id(string directory, string file) => Path.GetRelativePath(directory, file).Replace(Path.DirectorySeparatorChar, '/');

    /// <summary>The cache's <paramref name="rows"/> as one uint8 tensor, read in chunks straight into it.</summary>
    private static TorchSharp.torch.Tensor ReadAll(DecodedCache cache, long[] rows)
    {
        var result = TorchSharp.torch.empty([rows.Length, cache.Channels, cache.Height, cache.Width], TorchSharp.torch.ScalarType.Byte);
        const int chunk = 1024;
        var buffer = new byte[Math.Min(rows.Length, chunk) * cache.ItemBytes];
        for (int start = 0; start < rows.Length; start += chunk)
        {
            var len = Math.Min(chunk, rows.Length - start);
            if (len * cache.ItemBytes != buffer.Length) buffer = new byte[len * cache.ItemBytes];
            cache.Read(rows.AsSpan(start, len).ToArray(), buffer);
            using var slot = result.narrow(0, start, len);
            slot.bytes = buffer;
        }
        return result;
    }

    /// <summary>
    /// The images under <paramref name="directory"/> (recursively, hidden entries skipped), sorted by path,
    /// with their headers. Files that are not images are skipped unless their name promises one.
    /// </summary>
    public static IReadOnlyList<ImageHeader> FindImages(string directory) => FindImages(directory, null);

    /// <summary>
    /// As <see cref="FindImages(string)"/>; files whose name promises an image but whose content is none are
    /// added to <paramref name="skipped"/> when it is given, else they are an error.
    /// </summary>
    public static IReadOnlyList<ImageHeader> FindImages(string directory, List<string>? skipped)
    {
        var files = Directory.EnumerateFiles(directory, "*", SearchOption.AllDirectories)
            .Select(f => Path.GetRelativePath(directory, f))
            .Where(relative => !relative.Split(Path.DirectorySeparatorChar).Any(part => part.StartsWith('.')))
            .Order(StringComparer.Ordinal)
            .Select(relative => Path.Combine(directory, relative))
            .ToList();

        var probed = new ImageHeader?[files.Count];
        Parallel.For(0, files.Count, i => probed[i] = ImageDecoder.Probe(files[i]));
        for (int i = 0; i < files.Count; i++)
            if (probed[i] is null && ImageDecoder.HasImageExtension(files[i]))
                if (skipped is not null) skipped.Add(files[i]);
                else throw new ProteaException($"{files[i]}: not a PNG or JPEG image (cannot decode)");
        return probed.OfType<ImageHeader>().ToList();
    }

    /// <summary>[directory] for the plain layout, [train, test?] when the directory has a <c>train/</c> folder.</summary>
    private static List<string> SplitRoots(string directory)
    {
        if (!Directory.Exists(directory))
            throw new ProteaException($"{directory}: no such directory", "data");
        var folders = VisibleSubfolders(directory);
        bool hasTrain = folders.Contains(TrainFolder), hasTest = folders.Contains(TestFolder);
        if (!hasTrain && !hasTest)
            return [directory];
        if (!hasTrain)
            throw new ProteaException(
                $"{directory}: has a '{TestFolder}' folder but no '{TrainFolder}' folder; give both, or put class folders directly in {directory}");
        var stray = folders.Where(f => f != TrainFolder && f != TestFolder).ToList();
        if (stray.Count > 0)
            throw new ProteaException(
                $"{directory}: has '{TrainFolder}' and also '{stray[0]}'; with a '{TrainFolder}' folder only '{TrainFolder}' and '{TestFolder}' may sit beside it");
        return hasTest ? [Path.Combine(directory, TrainFolder), Path.Combine(directory, TestFolder)] : [Path.Combine(directory, TrainFolder)];
    }

    /// <summary>The class folders and the <c>unlabelled/</c> folder of a split, sorted.</summary>
    private static List<string> ListFolders(string root)
    {
        var names = VisibleSubfolders(root);
        if (names.Count == 0)
            throw new ProteaException(
                $"{root}: no class folders; put each class's images in its own sub-folder, e.g. {Path.Combine(root, "cat", "1.png")}");
        return names;
    }

    private static IReadOnlyList<ImageHeader> ProbeClassFolder(string folder, List<string>? skipped)
    {
        var images = FindImages(folder, skipped);
        if (images.Count == 0)
            throw new ProteaException($"{folder}: class folder holds no PNG or JPEG images; add some or remove the folder");
        return images;
    }

    private static List<string> VisibleSubfolders(string directory) =>
        Directory.EnumerateDirectories(directory)
            .Select(Path.GetFileName)
            .OfType<string>()
            .Where(n => !n.StartsWith('.'))
            .Order(StringComparer.Ordinal)
            .ToList();

    private static (int Height, int Width) CommonSize(string directory, IReadOnlyList<ImageHeader> images)
    {
        var first = images[0];
        var other = images.FirstOrDefault(h => h.Width != first.Width || h.Height != first.Height);
        if (other is not null)
            throw new ProteaException(
                $"{directory}: images differ in size ({first.Path} is {first.Width}x{first.Height}, {other.Path} is {other.Width}x{other.Height}); " +
                "give an image size N to resize them all to NxN", "image_size");
        return (first.Height, first.Width);
    }
}

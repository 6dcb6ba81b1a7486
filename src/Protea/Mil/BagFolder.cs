using Protea.Data;

namespace Protea.Mil;

/// <summary>One bag of a <see cref="BagFolder"/>: an image file and its class.</summary>
public sealed record BagItem(string Path, int Label);

/// <summary>
/// A labelled set of bags: a folder of class sub-folders whose images are each one bag (or, with
/// train/ and test/ sub-folders, two such sets). Images are listed here and decoded when a batch
/// needs them, so a set of large images never sits in memory at once.
/// </summary>
public sealed record BagFolder(string Root, IReadOnlyList<string> ClassNames, IReadOnlyList<BagItem> Items)
{
    public int Count => Items.Count;

    /// <summary>The bags under <paramref name="directory"/>/<paramref name="split"/> when that exists, else under the directory itself.</summary>
    public static BagFolder Open(string directory, string? split = null)
    {
        if (!Directory.Exists(directory))
            throw new ProteaException($"{directory}: no such folder of bag images", "data");
        var root = split is not null && Directory.Exists(Path.Combine(directory, split)) ? Path.Combine(directory, split) : directory;
        var classes = Directory.GetDirectories(root).Select(Path.GetFileName).OfType<string>()
            .Where(n => !n.StartsWith('.') && n != ImageFolderReader.TrainFolder && n != ImageFolderReader.TestFolder)
            .Order(StringComparer.Ordinal).ToList();
        if (classes.Count < 2)
            throw new ProteaException($"{root}: bags need at least two class sub-folders; found {classes.Count}", "data");
        var items = new List<BagItem>();
        for (var label = 0; label < classes.Count; label++)
            foreach (var file in Directory.GetFiles(Path.Combine(root, classes[label])).Order(StringComparer.Ordinal))
                if (!Path.GetFileName(file).StartsWith('.'))
                    items.Add(new BagItem(file, label));
        if (items.Count == 0)
            throw new ProteaException($"{root}: no bag images in its class sub-folders", "data");
        return new BagFolder(root, classes, items);
    }

    /// <summary>True when the folder has a split of that name (train/ or test/).</summary>
    public static bool HasSplit(string directory, string split) => Directory.Exists(Path.Combine(directory, split));
}

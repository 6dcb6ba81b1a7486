using System.Globalization;
using System.Text;
using Protea.Data;
using Protea.IO;
using SkiaSharp;
using static TorchSharp.torch;

namespace Protea.Mil;

/// <summary>What <see cref="BagMosaicGenerator"/> writes: bag counts and where the ground truth is.</summary>
public sealed record BagMosaicSummary(string Directory, int Positive, int Negative, int Tiles, int TargetTiles, string TilesCsv);

/// <summary>Settings of a generated MIL benchmark (see <see cref="BagMosaicGenerator"/>).</summary>
public sealed record BagMosaicOptions
{
    public required int TargetClass { get; init; }
    public int Count { get; init; } = 500;
    public int MinTiles { get; init; } = 16;
    public int MaxTiles { get; init; } = 64;
    public double PositiveRate { get; init; } = 0.5;
    public int Seed { get; init; } = 0;
}

/// <summary>
/// The MNIST-bags benchmark of attention-based deep MIL (Ilse, Tomczak and Welling 2018) as image
/// mosaics: each bag is a square grid of 28x28 tiles (8x8 = 224x224 px for up to 64 tiles) with its
/// tiles in random cells and the other cells black. A bag is positive when at least one tile is of the
/// target class. Images go to positive/ and negative/ sub-folders; tiles.csv lists every tile's box,
/// class and whether it is a target, so patch localisation can be scored against ground truth.
/// </summary>
public static class BagMosaicGenerator
{
    public const string PositiveFolder = "positive";
    public const string NegativeFolder = "negative";
    public const string TilesFile = "tiles.csv";
    public const string CsvHeader = "bag,label,tile,x,y,width,height,class,target";

    /// <summary>Writes the bags built from <paramref name="tiles"/> (uint8 [N, 1, 28, 28] with labels) into <paramref name="outDir"/>.</summary>
    public static BagMosaicSummary Write(Dataset tiles, BagMosaicOptions o, string outDir, IProgress<int>? progress = null)
    {
        Check(o, tiles.ClassNames.Count);
        var side = (int)tiles.Inputs.shape[2];
        var grid = (int)Math.Ceiling(Math.Sqrt(o.MaxTiles));
        var targets = Enumerable.Range(0, tiles.Count).Where(i => tiles.Labels[i] == o.TargetClass).ToArray();
        var others = Enumerable.Range(0, tiles.Count).Where(i => tiles.Labels[i] != o.TargetClass).ToArray();
        if (targets.Length == 0 || others.Length == 0)
            throw new ProteaException($"the tile set needs images of the target class and of others; it has {targets.Length} and {others.Length}", "target");
        Directory.CreateDirectory(Path.Combine(outDir, PositiveFolder));
        Directory.CreateDirectory(Path.Combine(outDir, NegativeFolder));
        var pixels = tiles.Inputs.contiguous().data<byte>().ToArray();
        var tileBytes = side * side;
        var random = new Random(o.Seed);
        var csv = new StringBuilder(CsvHeader + "\n");
        int positive = 0, tileCount = 0, targetCount = 0;
        for (var b = 0; b < o.Count; b++)
        {
            var n = random.Next(o.MinTiles, o.MaxTiles + 1);
            var isPositive = random.NextDouble() < o.PositiveRate;
            var k = isPositive ? random.Next(1, Math.Max(1, n / 8) + 1) : 0;
            var cells = Enumerable.Range(0, grid * grid).OrderBy(_ => random.Next()).Take(n).Order().ToArray();
            var targetSlots = Enumerable.Range(0, n).OrderBy(_ => random.Next()).Take(k).ToHashSet();
            var image = new byte[grid * side * grid * side];
            var folder = isPositive ? PositiveFolder : NegativeFolder;
            var name = $"{folder}/bag_{b:D5}.png";
            for (var t = 0; t < n; t++)
            {
                var isTarget = targetSlots.Contains(t);
                var source = isTarget ? targets[random.Next(targets.Length)] : others[random.Next(others.Length)];
                int x = cells[t] % grid * side, y = cells[t] / grid * side;
                for (var r = 0; r < side; r++)
                    Array.Copy(pixels, source * tileBytes + r * side, image, (y + r) * grid * side + x, side);
                csv.Append(CultureInfo.InvariantCulture, $"{name},{folder},{t},{x},{y},{side},{side},{tiles.ClassNames[(int)tiles.Labels[source]]},{(isTarget ? 1 : 0)}\n");
                tileCount++;
                if (isTarget) targetCount++;
            }
            WriteGrayPng(Path.Combine(outDir, name), image, grid * side, grid * side);
            if (isPositive) positive++;
            progress?.Report(b + 1);
        }
        var csvPath = Path.Combine(outDir, TilesFile);
        AtomicFile.WriteAllText(csvPath, csv.ToString());
        return new BagMosaicSummary(outDir, positive, o.Count - positive, tileCount, targetCount, csvPath);
    }

    private static void Check(BagMosaicOptions o, int classes)
    {
        if (o.TargetClass < 0 || o.TargetClass >= classes)
            throw new ProteaException($"target class {o.TargetClass} is not one of the {classes} classes", "target");
        if (o.Count < 1)
            throw new ProteaException($"bag count {o.Count} must be at least 1", "count");
        if (o.MinTiles < 1 || o.MaxTiles < o.MinTiles || o.MaxTiles > 1024)
            throw new ProteaException($"bag size {o.MinTiles}..{o.MaxTiles} tiles is not a range within 1..1024", "bag_size");
        if (o.PositiveRate is < 0 or > 1)
            throw new ProteaException($"positive rate {o.PositiveRate} must be between 0 and 1", "positive_rate");
    }

    /// <summary>Parses "16..64" or "32" into a tile range.</summary>
    public static (int Min, int Max) ParseSize(string text)
    {
        var parts = text.Split("..");
        if (parts.Length is 1 or 2 && parts.All(p => int.TryParse(p, NumberStyles.None, CultureInfo.InvariantCulture, out _)))
        {
            var min = int.Parse(parts[0], CultureInfo.InvariantCulture);
            return (min, parts.Length == 2 ? int.Parse(parts[1], CultureInfo.InvariantCulture) : min);
        }
        throw new ProteaException($"bag size '{text}' is not N or MIN..MAX tiles", "bag_size");
    }

    private static void WriteGrayPng(string path, byte[] gray, int width, int height)
    {
        using var bitmap = new SKBitmap(new SKImageInfo(width, height, SKColorType.Gray8, SKAlphaType.Opaque));
        System.Runtime.InteropServices.Marshal.Copy(gray, 0, bitmap.GetPixels(), gray.Length);
        using var data = bitmap.Encode(SKEncodedImageFormat.Png, 100);
        AtomicFile.Write(path, s => data.SaveTo(s));
    }

    /// <summary>The rows of a tiles.csv, grouped by bag (its path relative to the folder).</summary>
    public static IReadOnlyDictionary<string, IReadOnlyList<(PatchBox Box, bool Target)>> ReadTiles(string csvPath)
    {
        var result = new Dictionary<string, List<(PatchBox, bool)>>(StringComparer.Ordinal);
        foreach (var line in File.ReadLines(csvPath).Skip(1))
        {
            if (line.Length == 0) continue;
            var f = line.Split(',');
            var box = new PatchBox(int.Parse(f[3], CultureInfo.InvariantCulture), int.Parse(f[4], CultureInfo.InvariantCulture),
                int.Parse(f[5], CultureInfo.InvariantCulture), int.Parse(f[6], CultureInfo.InvariantCulture));
            if (!result.TryGetValue(f[0], out var list)) result[f[0]] = list = [];
            list.Add((box, f[8] == "1"));
        }
        return result.ToDictionary(kv => kv.Key, kv => (IReadOnlyList<(PatchBox, bool)>)kv.Value, StringComparer.Ordinal);
    }
}

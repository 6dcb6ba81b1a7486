namespace Protea.Mil;

/// <summary>
/// Where the patches of an image lie: squares of <see cref="Patch"/> pixels every <see cref="Stride"/>
/// pixels, rows top to bottom, each row left to right. When the last patch of a row or column stops
/// short of the image's edge, one more patch is placed flush with the edge (overlapping its
/// neighbour), so every pixel lies in some patch and no patch is padded.
/// </summary>
public sealed record PatchGrid(int Patch, int Stride)
{
    public static PatchGrid Create(int patch, int? stride = null)
    {
        if (patch < 1)
            throw new ProteaException($"patch size {patch} px must be at least 1", "patch");
        var s = stride ?? patch;
        if (s < 1)
            throw new ProteaException($"patch stride {s} px must be at least 1", "stride");
        return new PatchGrid(patch, s);
    }

    /// <summary>The patches of a <paramref name="width"/> x <paramref name="height"/> image; <paramref name="name"/> stands for it in messages.</summary>
    public IReadOnlyList<PatchBox> Boxes(int width, int height, string name = "image")
    {
        if (Patch > width || Patch > height)
            throw new ProteaException($"{name}: patch size {Patch} px is larger than the image ({width}x{height} px)", "patch");
        var xs = Starts(width);
        var ys = Starts(height);
        var boxes = new List<PatchBox>(xs.Count * ys.Count);
        foreach (var y in ys)
            foreach (var x in xs)
                boxes.Add(new PatchBox(x, y, Patch, Patch));
        return boxes;
    }

    /// <summary>Patch starts along one axis: 0, S, 2S, ... while the patch fits, then one flush with the edge if pixels remain.</summary>
    private List<int> Starts(int length)
    {
        var starts = new List<int>();
        for (var s = 0; s + Patch <= length; s += Stride) starts.Add(s);
        if (starts[^1] + Patch < length) starts.Add(length - Patch);
        return starts;
    }
}

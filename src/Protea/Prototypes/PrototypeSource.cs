namespace Protea.Prototypes;

/// <summary>A box in input pixels: columns [X0, X1) and rows [Y0, Y1).</summary>
public sealed record PatchBox(int X0, int Y0, int X1, int Y1)
{
    public int Width => X1 - X0;
    public int Height => Y1 - Y0;

    /// <summary>
    /// The input pixels of feature cell (row, col) of an h x w map over an H x W input, by the ratio of
    /// the sizes: cell c covers [floor(c W / w), floor((c + 1) W / w)). This is the cell's share of the
    /// image, not its receptive field (which, for a deep backbone, is most of the image); ProtoPNet
    /// instead boxes the upsampled activation map's top 5 %. The ratio box is deterministic, never empty,
    /// and tiles the image.
    /// </summary>
    public static PatchBox ForCell(int row, int col, int mapHeight, int mapWidth, int inputHeight, int inputWidth) => new(
        (int)((long)col * inputWidth / mapWidth), (int)((long)row * inputHeight / mapHeight),
        (int)((long)(col + 1) * inputWidth / mapWidth), (int)((long)(row + 1) * inputHeight / mapHeight));
}

/// <summary>Where a pushed prototype came from: a training item (its id in the data set) and the patch's box in that item's input pixels.</summary>
public sealed record PrototypeSource(string ItemId, PatchBox Box, int Row, int Col);

namespace Protea.Mil;

/// <summary>One patch of a bag image, in the image's pixels: its top-left corner and size.</summary>
public sealed record PatchBox(int X, int Y, int Width, int Height)
{
    /// <summary>True when the two boxes share at least one pixel.</summary>
    public bool Overlaps(PatchBox other) =>
        X < other.X + other.Width && other.X < X + Width && Y < other.Y + other.Height && other.Y < Y + Height;
}

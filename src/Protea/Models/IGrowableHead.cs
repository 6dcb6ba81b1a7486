namespace Protea.Models;

/// <summary>
/// A head that can take more classes: <see cref="Grow"/> returns a new head with this head's classes
/// first, their parameters copied unchanged (so old classes score as before), then
/// <paramref name="added"/> new classes, initialised as the head initialises a class (random weights,
/// or a zero prototype that a fit or imprint sets). Class-incremental learning builds on it.
/// </summary>
public interface IGrowableHead
{
    Head Grow(long added);
}

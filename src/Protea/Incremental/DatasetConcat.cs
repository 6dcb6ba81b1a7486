using Protea.Data;
using static TorchSharp.torch;

namespace Protea.Incremental;

internal static class DatasetConcat
{
    /// <summary>Both data sets' items in one (the class names are <paramref name="a"/>'s, which must include <paramref name="b"/>'s labels).</summary>
    public static Dataset Concat(Dataset a, Dataset b) =>
        new(cat([a.Inputs, b.Inputs], 0), [.. a.Labels, .. b.Labels], a.ClassNames, a.Kind, a.Source, [.. a.Ids, .. b.Ids]);
}

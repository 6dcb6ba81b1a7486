namespace Protea.Models;

/// <summary>
/// The components Protea builds, by name: one registration line each. Everything that needs to know
/// about a backbone or head (model loading, training, ONNX export, the CLI's help and defaults) reads
/// these catalogs; a component outside the library registers itself the same way before use.
/// </summary>
public static class Registry
{
    public static Catalog<BackboneSpec> Backbones { get; } = Create(new Catalog<BackboneSpec>("architecture", "architecture"),
        ReferenceCnn.Spec,
        ResNet18.Spec,
        Mlp.Spec);

    public static Catalog<HeadSpec> Heads { get; } = Create(new Catalog<HeadSpec>("head", "head"),
        LinearHead.Spec,
        CosineHead.Spec,
        NcmHead.Spec,
        PartsHead.Spec);

    private static Catalog<T> Create<T>(Catalog<T> catalog, params T[] builtIn) where T : class, IComponentSpec
    {
        foreach (var spec in builtIn) catalog.Register(spec);
        return catalog;
    }
}

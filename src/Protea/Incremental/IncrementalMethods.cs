namespace Protea.Incremental;

/// <summary>The incremental methods by name.</summary>
public static class IncrementalMethods
{
    public static readonly IReadOnlyList<string> Names = ["finetune", "joint", "ncm", "teen", "lwf", "icarl", "protoaug"];

    public static IIncrementalMethod Create(string name, IncrementalOptions options)
    {
        options.Validate();
        return name switch
        {
            "finetune" => new FinetuneMethod(options),
            "joint" => new JointMethod(options),
            "ncm" => new NcmMethod(options, teen: false),
            "teen" => new NcmMethod(options, teen: true),
            "lwf" => new LwfMethod(options),
            "icarl" => new IcarlMethod(options),
            "protoaug" => new ProtoAugMethod(options),
            _ => throw new ProteaException($"incremental method '{name}' is not known; known: {string.Join(", ", Names)}", "method"),
        };
    }
}

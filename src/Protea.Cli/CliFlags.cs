namespace Protea.Cli;

/// <summary>
/// The CLI's way to set each library field a <see cref="ProteaException"/> can name: the library says
/// what is wrong with a value, the CLI adds the flag the user types to change it.
/// </summary>
internal static class CliFlags
{
    private static readonly Dictionary<string, string> ByField = new(StringComparer.Ordinal)
    {
        ["architecture"] = "--arch",
        ["head"] = "--head",
        ["stem"] = "--stem",
        ["init"] = "--init",
        ["recipe"] = "--recipe",
        ["epochs"] = "--epochs",
        ["batch_size"] = "--batch-size",
        ["learning_rate"] = "--lr",
        ["optimizer"] = "--optimizer",
        ["schedule"] = "--schedule",
        ["warmup"] = "--warmup",
        ["steps"] = "--steps",
        ["weight_decay"] = "--weight-decay",
        ["label_smoothing"] = "--label-smoothing",
        ["objective"] = "--objective",
        ["temperature"] = "--temperature",
        ["validation_fraction"] = "--validation",
        ["limit"] = "--limit",
        ["seed"] = "--seed",
        ["threads"] = "--threads",
        ["data"] = "--data",
        ["label_column"] = "--label",
        ["id_column"] = "--id",
        ["classes"] = "--classes",
        ["image_size"] = "--image-size",
        ["channels"] = "--channels",
        ["model"] = "--model",
        ["engine"] = "--engine",
        ["top"] = "--top",
        ["format"] = "--format",
        ["index"] = "--index",
        ["scorer"] = "--scorer",
        ["temperature"] = "--temperature",
        ["k"] = "--k",
        ["known_data"] = "--known",
        ["known_classes"] = "--known-classes",
        ["unknown_data"] = "--unknown",
        ["unknown_classes"] = "--unknown-classes",
        ["out"] = "--out",
        ["memory_budget"] = "--memory-budget",
        ["workers"] = "--workers",
        ["cache_dir"] = "--cache-dir",
        ["skip_bad"] = "--skip-bad",
    };

    /// <summary>"--arch: architecture 'vgg' is not known; ..." for a field the CLI sets, else the message as it is.</summary>
    public static string Describe(ProteaException e) =>
        e.Field is { } field && ByField.TryGetValue(field, out var flag) && !e.Message.StartsWith(flag, StringComparison.Ordinal)
            ? $"{flag}: {e.Message}"
            : e.Message;
}

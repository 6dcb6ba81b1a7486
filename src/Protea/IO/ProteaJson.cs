using System.Text.Json;
using System.Text.Json.Serialization;

namespace Protea.IO;

/// <summary>One JSON convention for every file and `--json` output: snake_case names, enums as lower-case strings.</summary>
public static class ProteaJson
{
    public static readonly JsonSerializerOptions Options = new()
    {
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        WriteIndented = true,
        Converters = { new JsonStringEnumConverter(JsonNamingPolicy.SnakeCaseLower) },
        NumberHandling = JsonNumberHandling.AllowNamedFloatingPointLiterals,
    };

    public static readonly JsonSerializerOptions Compact = new(Options) { WriteIndented = false };
}

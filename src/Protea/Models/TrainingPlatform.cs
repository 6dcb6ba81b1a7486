namespace Protea.Models;

/// <summary>
/// Where a model was trained, as model.json records it: the CPU, the torch build, and the
/// convolution configurations <see cref="ConvLayoutGuard"/> found wrong in channels-last on that CPU
/// and ran in NCHW instead (empty when every fast-path choice was verified right), and those run in
/// NCHW because it measured faster there.
/// </summary>
public sealed record TrainingPlatform(string Cpu, string Torch, IReadOnlyList<string> ConvNchwFallbacks)
{
    public IReadOnlyList<string> ConvNchwForSpeed { get; init; } = [];

    public static TrainingPlatform Current(ConvLayoutGuard guard) =>
        new(CpuModel(), $"TorchSharp {typeof(TorchSharp.torch).Assembly.GetName().Version?.ToString(3)}", guard.NchwFallbacks)
        {
            ConvNchwForSpeed = guard.NchwForSpeed,
        };

    /// <summary>The CPU's model name and AVX-512 support, e.g. "AMD EPYC (avx512f)"; "unknown" off Linux.</summary>
    public static string CpuModel()
    {
        try
        {
            var lines = File.ReadLines("/proc/cpuinfo").TakeWhile(l => l.Length > 0).ToList();
            var name = lines.FirstOrDefault(l => l.StartsWith("model name", StringComparison.Ordinal))?.Split(':', 2)[1].Trim() ?? "unknown";
            var flags = lines.FirstOrDefault(l => l.StartsWith("flags", StringComparison.Ordinal))?.Split(':', 2)[1].Split(' ') ?? [];
            var isa = flags.Contains("avx512f") ? "avx512f" : flags.Contains("avx2") ? "avx2" : "no avx2";
            return $"{name} ({isa})";
        }
        catch (IOException)
        {
            return "unknown";
        }
    }
}

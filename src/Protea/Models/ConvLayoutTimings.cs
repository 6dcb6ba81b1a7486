using System.Collections.Concurrent;
using System.Diagnostics;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Protea.IO;
using static TorchSharp.torch;

namespace Protea.Models;

/// <summary>
/// How long a convolution configuration takes, forward and backward, with its input arriving
/// channels-last, when it runs channels-last and when it runs NCHW (the conversion included), so
/// <see cref="ConvLayoutGuard"/> can pick the faster of two verified-right layouts. Measured once
/// per machine and thread count, and kept in a small JSON file per CPU and torch build:
/// the measurement costs a few tens of milliseconds per configuration once, and later runs (a
/// resumed one included) make the same choice, which keeps seeded runs reproducible on a machine.
/// </summary>
public sealed class ConvLayoutTimings
{
    /// <summary>Batch the timings are taken at: large enough to resemble training, small enough to be quick.</summary>
    public const int TimingBatch = 16;

    private readonly string? path;
    private readonly ConcurrentDictionary<string, double[]> entries = new(StringComparer.Ordinal);

    /// <param name="path">The cache file, or null to measure afresh in every process.</param>
    public ConvLayoutTimings(string? path)
    {
        this.path = path;
        if (path is null || !File.Exists(path)) return;
        try
        {
            var saved = JsonSerializer.Deserialize<Dictionary<string, double[]>>(File.ReadAllText(path));
            foreach (var (key, value) in saved ?? [])
                if (value is { Length: 2 } && value.All(double.IsFinite)) entries[key] = value;
        }
        catch (Exception e) when (e is JsonException or IOException or UnauthorizedAccessException)
        {
            // A damaged cache is only lost time: measure again and overwrite it.
        }
    }

    /// <summary>The cache of this machine: $XDG_CACHE_HOME (or ~/.cache)/protea/, one file per CPU and torch build.</summary>
    public static ConvLayoutTimings ForThisMachine()
    {
        var root = Environment.GetEnvironmentVariable("XDG_CACHE_HOME") is { Length: > 0 } xdg ? xdg
            : Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".cache");
        var identity = $"{TrainingPlatform.CpuModel()}|{typeof(TorchSharp.torch).Assembly.GetName().Version}";
        var hash = Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(identity)))[..16];
        return new ConvLayoutTimings(Path.Combine(root, "protea", $"conv-layouts-{hash}.json"));
    }

    /// <summary>(channels-last ms, NCHW ms) for the configuration at the current thread count, measured now unless known.</summary>
    public (double ChannelsLastMs, double NchwMs) For(ConvConfig config)
    {
        var key = $"{config} @ {get_num_threads()} threads";
        if (entries.TryGetValue(key, out var known))
            return (known[0], known[1]);
        var measured = Measure(config);
        entries[key] = [measured.ChannelsLastMs, measured.NchwMs];
        Save();
        return measured;
    }

    private void Save()
    {
        if (path is null) return;
        try
        {
            AtomicFile.WriteAllText(path, JsonSerializer.Serialize(entries.ToDictionary(e => e.Key, e => e.Value)));
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // No writable cache (read-only home): the measurement simply repeats in the next process.
        }
    }

    /// <summary>Forward + backward, best of two timed runs after a warm-up (oneDNN compiles kernels on first use).</summary>
    public static (double ChannelsLastMs, double NchwMs) Measure(ConvConfig c)
    {
        using var scope = NewDisposeScope();
        using var enableGrad = enable_grad();
        using var generator = new Generator(0x7113);
        var x = ChannelsLast.Convert(randn([TimingBatch, c.InChannels, c.Height, c.Width], dtype: c.DType, generator: generator));
        var w = randn([c.OutChannels, c.InChannels / c.Groups, c.KernelH, c.KernelW], dtype: c.DType, generator: generator).requires_grad_();
        double Time(bool channelsLast)
        {
            var best = double.MaxValue;
            for (var run = 0; run < 3; run++)
            {
                using var step = NewDisposeScope();
                var watch = Stopwatch.StartNew();
                var input = (channelsLast ? x : x.contiguous()).detach().requires_grad_();
                var y = c.Apply(input, w);
                using var sum = y.sum();
                autograd.grad([sum], [input, w]);
                if (run > 0) best = Math.Min(best, watch.Elapsed.TotalMilliseconds);
            }
            return best;
        }
        return (Time(channelsLast: true), Time(channelsLast: false));
    }
}

using System.Net;

namespace Protea.Web;

/// <summary>How `protea serve` runs: the model folder, where it listens, and the upload caps.</summary>
public sealed record WebOptions
{
    public const long DefaultMaxUploadBytes = 5 * 1024 * 1024;
    public const int DefaultMaxFiles = 64;

    /// <summary>The model folder (as train writes it). Taught and adopted classes are saved into it.</summary>
    public required string ModelDir { get; init; }

    /// <summary>The address to bind: loopback unless asked otherwise.</summary>
    public string Host { get; init; } = "127.0.0.1";

    /// <summary>The port; 0 takes a free one (tests).</summary>
    public int Port { get; init; } = 8080;

    /// <summary>The most bytes one request may upload, all files together.</summary>
    public long MaxUploadBytes { get; init; } = DefaultMaxUploadBytes;

    /// <summary>The most files one request may upload.</summary>
    public int MaxFiles { get; init; } = DefaultMaxFiles;

    /// <summary>Classes listed per prediction.</summary>
    public int Top { get; init; } = 3;

    /// <summary>ONNX Runtime intra-op threads per session; 0 lets it choose (TorchSharp's count is the host's to set).</summary>
    public int Threads { get; init; }

    /// <summary>The address to bind, or a user error.</summary>
    public IPAddress Address()
    {
        if (string.Equals(Host, "localhost", StringComparison.OrdinalIgnoreCase)) return IPAddress.Loopback;
        return IPAddress.TryParse(Host, out var address) ? address
            : throw new ProteaException($"host '{Host}' is not an IP address (use 127.0.0.1 for this machine only, 0.0.0.0 for every interface)", "host");
    }

    public void Check()
    {
        Address();
        if (Port is < 0 or > 65535) throw new ProteaException($"port {Port} is not a TCP port (0-65535)", "port");
        if (MaxUploadBytes < 1024) throw new ProteaException($"the upload cap must be at least 1 KB, not {MaxUploadBytes} bytes", "max_upload");
        if (MaxFiles < 1) throw new ProteaException($"the file cap must be at least 1, not {MaxFiles}", "max_files");
        if (Top < 1) throw new ProteaException($"the number of classes listed must be at least 1, not {Top}", "top");
        if (!Directory.Exists(ModelDir)) throw new ProteaException($"{ModelDir}: no such model folder", "model");
    }

    /// <summary>"5MB", "512KB", "1048576" (bytes) as a byte count, or a user error.</summary>
    public static long ParseSize(string text)
    {
        var t = text.Trim().ToUpperInvariant();
        long scale = 1;
        foreach (var (suffix, factor) in new[] { ("GB", 1L << 30), ("MB", 1L << 20), ("KB", 1L << 10), ("B", 1L) })
            if (t.EndsWith(suffix, StringComparison.Ordinal)) { t = t[..^suffix.Length].Trim(); scale = factor; break; }
        if (!double.TryParse(t, System.Globalization.NumberStyles.Float, System.Globalization.CultureInfo.InvariantCulture, out var value) || value <= 0 || double.IsInfinity(value))
            throw new ProteaException($"'{text}' is not a size (e.g. 5MB, 512KB)", "max_upload");
        return (long)Math.Round(value * scale);
    }
}

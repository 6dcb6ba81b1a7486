using System.CommandLine;
using System.Globalization;
using Protea.Data;

namespace Protea.Cli;

/// <summary>
/// The flags that say how image folders are read (<see cref="DataLoadOptions"/>): --memory-budget, --workers,
/// --cache-dir, --no-cache, --skip-bad. One instance per command (an option belongs to one command).
/// Prints the budget and what loading did on stderr (not with --json), and decoding progress on a terminal.
/// </summary>
internal sealed class DataLoadFlags
{
    public Option<string?> MemoryBudget { get; } = new("--memory-budget")
    {
        Description = $"Decoded images held in memory at most (e.g. 256M, 2G); larger image folders are streamed from the decoded cache. Default: {MemoryBudgetFraction} of the free memory",
    };
    public Option<int?> Workers { get; } = new("--workers") { Description = "Threads that decode images and read streamed batches (default: the core count)" };
    public Option<string?> CacheDir { get; } = new("--cache-dir") { Description = $"Folder of decoded caches (default: {DecodedCache.DefaultDirectory})" };
    public Option<bool> NoCache { get; } = new("--no-cache") { Description = "Decode image folders into memory afresh, without the decoded cache (no streaming)" };
    public Option<bool> SkipBad { get; } = new("--skip-bad") { Description = "Skip images that cannot be decoded (counted and listed) instead of stopping" };

    private static string MemoryBudgetFraction => Data.MemoryBudget.DefaultFraction.ToString("P0", CultureInfo.InvariantCulture);

    public IEnumerable<Option> All => [MemoryBudget, Workers, CacheDir, NoCache, SkipBad];

    public void AddTo(Command command)
    {
        foreach (var option in All) command.Options.Add(option);
    }

    /// <summary><paramref name="spec"/> reading as the flags say (image folders only; other data is read as before).</summary>
    public DataSpec Apply(ParseResult p, DataSpec spec, CliConsole console, bool json)
    {
        var noCache = p.GetValue(NoCache);
        var skipBad = p.GetValue(SkipBad);
        if (noCache && skipBad)
            throw new ProteaException("skipping bad images needs the decoded cache, which is turned off", "skip_bad");
        var budgetText = p.GetValue(MemoryBudget);
        var options = new DataLoadOptions
        {
            MemoryBudget = noCache ? null : budgetText is null ? Data.MemoryBudget.Default() : Data.MemoryBudget.Parse(budgetText),
            Workers = p.GetValue(Workers),
            CacheDirectory = noCache ? null : p.GetValue(CacheDir) ?? DecodedCache.DefaultDirectory,
            SkipBad = skipBad,
        };
        options.Validate();
        if (spec.Kind != DataSourceKind.ImageFolder) return spec;
        var quiet = json;
        var printer = new DecodeProgressPrinter(console.Error, live: console.Interactive && !quiet);
        bool announced = false;
        return spec with
        {
            Loading = options with
            {
                Progress = printer,
                Report = report =>
                {
                    if (quiet) return;
                    if (!announced && options.MemoryBudget is { } b)
                    {
                        announced = true;
                        var how = budgetText is null ? $" ({MemoryBudgetFraction} of the {Data.MemoryBudget.Format(Data.MemoryBudget.AvailableBytes())} available)" : "";
                        console.Error.WriteLine($"memory budget {Data.MemoryBudget.Format(b)}{how}");
                    }
                    var mode = report.Streamed ? "streamed from the decoded cache" : "in memory";
                    var state = report.CacheState.StartsWith("filling", StringComparison.Ordinal)
                        ? "written by the first pass" + report.CacheState["filling".Length..] : report.CacheState;
                    var cache = report.CacheFile is null ? "" : $"; cache {state}: {report.CacheFile}";
                    console.Error.WriteLine(
                        $"{report.Source}: {report.Items:N0} images, {Data.MemoryBudget.Format(report.DecodedBytes)} decoded, {mode}{cache}");
                    if (report.Skipped.Count > 0)
                        console.Error.WriteLine($"{report.Source}: skipped {report.Skipped.Count} undecodable image{(report.Skipped.Count == 1 ? "" : "s")}: " +
                            string.Join(", ", report.Skipped.Take(5)) + (report.Skipped.Count > 5 ? ", ..." : ""));
                },
            },
        };
    }

    /// <summary>A live line while a folder is decoded into its cache (terminal only).</summary>
    private sealed class DecodeProgressPrinter(TextWriter error, bool live) : IProgress<DecodeProgress>
    {
        public void Report(DecodeProgress p)
        {
            if (!live) return;
            var rate = p.Done / Math.Max(p.Elapsed.TotalSeconds, 1e-9);
            var eta = p.Remaining is { } r ? $" ETA {(r.TotalHours >= 1 ? r.ToString(@"h\:mm\:ss") : r.ToString(@"m\:ss"))}" : "";
            error.Write($"\r\u001b[2Kdecoding {p.Source}: {p.Done:N0}/{p.Total:N0} ({(double)p.Done / Math.Max(p.Total, 1):P0}) {rate:N0} img/s{eta}");
            if (p.Done == p.Total) error.WriteLine();
        }
    }
}

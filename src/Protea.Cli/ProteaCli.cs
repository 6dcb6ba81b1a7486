using System.CommandLine;
using Protea.Cli.Commands;

namespace Protea.Cli;

/// <summary>
/// The `protea` command. Exit codes: 0 success, 2 bad input (one-line message naming the file or
/// option and the fix), 1 internal error (one line on screen, the stack trace in a log file).
/// </summary>
public static class ProteaCli
{
    public static int Run(string[] args, TextWriter stdout, TextWriter stderr)
    {
        var console = new CliConsole(stdout, stderr, interactive: ReferenceEquals(stdout, Console.Out) && !Console.IsOutputRedirected);
        var root = new RootCommand("Protea: explainable, prototype-based image and tabular classification.")
        {
            TrainCommand.Create(console),
            EvalCommand.Create(console),
            PredictCommand.Create(console),
            ExportCommand.Create(console),
            QuickstartCommand.Create(console),
        };
        var parse = root.Parse(args);
        if (parse.Errors.Count > 0)
        {
            stderr.WriteLine($"protea: {parse.Errors[0].Message} (see `protea {string.Join(' ', args.TakeWhile(a => !a.StartsWith('-')).Take(1))} --help`)");
            return ProteaException.BadInput;
        }
        try
        {
            return parse.Invoke(new InvocationConfiguration { EnableDefaultExceptionHandler = false, Output = stdout, Error = stderr });
        }
        catch (Exception e) when (Unwrap(e) is ProteaException p)
        {
            stderr.WriteLine($"protea: {p.Message}");
            return p.ExitCode;
        }
        catch (Exception e) when (Unwrap(e) is OperationCanceledException)
        {
            stderr.WriteLine("protea: cancelled");
            return ProteaException.Internal;
        }
        catch (Exception e)
        {
            var log = Path.Combine(Path.GetTempPath(), "protea-error.log");
            try { File.WriteAllText(log, $"{DateTime.UtcNow:O} protea {string.Join(' ', args)}\n{e}\n"); } catch (IOException) { }
            stderr.WriteLine($"protea: internal error: {Describe(Unwrap(e))} (details in {log})");
            return ProteaException.Internal;
        }
    }

    private static Exception Unwrap(Exception e) =>
        e is AggregateException { InnerExceptions.Count: 1 } a ? Unwrap(a.InnerExceptions[0])
        : e is TypeInitializationException { InnerException: { } inner } ? Unwrap(inner)
        : e;

    private static string Describe(Exception e) =>
        e is NotSupportedException && e.Message.Contains("libtorch", StringComparison.Ordinal)
            ? "TorchSharp's native library did not load; run `make build` (it applies the Debian 12 fix) or scripts/setup"
            : e.Message.Split('\n')[0];
}

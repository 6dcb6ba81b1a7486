using System.CommandLine;
using System.CommandLine.Help;
using System.CommandLine.Invocation;
using Protea.Cli.Commands;

namespace Protea.Cli;

/// <summary>
/// The `protea` command. Exit codes: 0 success, 2 bad input (one-line message naming the file or
/// option and the fix), 1 internal error (one line on screen, the stack trace in a log file).
/// </summary>
public static class ProteaCli
{
    /// <summary>Shows native libraries' own output and what the convolution layout guard decided.</summary>
    public const string VerboseFlag = "--verbose";

    private static readonly Option<bool> Verbose = new(VerboseFlag)
    {
        Description = "Show native libraries' warnings and each convolution the channels-last guard sends to NCHW",
        Recursive = true,
    };

    public static int Run(string[] args, TextWriter stdout, TextWriter stderr)
    {
        var console = new CliConsole(stdout, stderr, interactive: ReferenceEquals(stdout, Console.Out) && !Console.IsOutputRedirected);
        var root = CreateRoot(console);
        if (!args.Contains(VerboseFlag))
            return Invoke(root, args, stdout, stderr);
        var guard = Protea.Models.ConvLayoutGuard.Current;
        void Report(Protea.Models.ConvLayoutDecision d) => stderr.WriteLine($"protea: {d}");
        guard.Fallback += Report;
        try
        {
            return Invoke(root, args, stdout, stderr);
        }
        finally
        {
            guard.Fallback -= Report;
        }
    }

    private static int Invoke(Command root, string[] args, TextWriter stdout, TextWriter stderr)
    {
        var parse = root.Parse(args);
        if (parse.Errors.Count > 0 && parse.Action is not HelpWithExamples)
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
            stderr.WriteLine($"protea: {CliFlags.Describe(p)}");
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

    /// <summary>The command tree; each command's help ends with its examples.</summary>
    private static Command CreateRoot(CliConsole console)
    {
        var examples = new Dictionary<Command, string>
        {
            [TrainCommand.Create(console)] = TrainCommand.Examples,
            [EvalCommand.Create(console)] = EvalCommand.Examples,
            [PredictCommand.Create(console)] = PredictCommand.Examples,
            [ExportCommand.Create(console)] = ExportCommand.Examples,
            [IndexCommand.Create(console)] = IndexCommand.Examples,
            [SearchCommand.Create(console)] = SearchCommand.Examples,
            [CalibrateUnknownCommand.Create(console)] = CalibrateUnknownCommand.Examples,
            [UnknownCommand.Create(console)] = UnknownCommand.Examples,
            [DiscoverCommand.Create(console)] = DiscoverCommand.Examples,
            [QuickstartCommand.Create(console)] = QuickstartCommand.Examples,
            [LrFindCommand.Create(console)] = LrFindCommand.Examples,
            [MakeBagsCommand.Create(console)] = MakeBagsCommand.Examples,
            [TrainBagsCommand.Create(console)] = TrainBagsCommand.Examples,
            [DistillCommand.Create(console)] = DistillCommand.Examples,
            [SeparabilityCommand.Create(console)] = SeparabilityCommand.Examples,
            [IncrementalCommand.Create(console)] = IncrementalCommand.Examples,
            [LearnClassCommand.Create(console)] = LearnClassCommand.Examples,
            [PrototypesCommand.Create(console)] = PrototypesCommand.Examples,
            [ExplainCommand.Create(console)] = ExplainCommand.Examples,
            [ServeCommand.Create(console)] = ServeCommand.Examples,
            [AdoptCommand.Create(console)] = AdoptCommand.Examples,
        };
        // A plain Command rather than RootCommand, so usage says `protea`, not the assembly name.
        var help = new HelpOption { Recursive = true };
        var root = new Command("protea", "Protea: explainable, prototype-based image and tabular classification.") { help, new VersionOption(), Verbose };
        foreach (var command in examples.Keys) root.Add(command);
        help.Action = new HelpWithExamples((SynchronousCommandLineAction)help.Action!, examples);
        return root;
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

/// <summary>The standard help, followed by the command's examples.</summary>
internal sealed class HelpWithExamples(SynchronousCommandLineAction help, IReadOnlyDictionary<Command, string> examples) : SynchronousCommandLineAction
{
    public override int Invoke(ParseResult parseResult)
    {
        var code = help.Invoke(parseResult);
        if (examples.TryGetValue(parseResult.CommandResult.Command, out var text))
        {
            var output = parseResult.InvocationConfiguration.Output;
            output.WriteLine("Examples:");
            foreach (var line in text.Split('\n')) output.WriteLine("  " + line);
            output.WriteLine();
        }
        return code;
    }
}

using System.CommandLine;
using Protea.Web;

namespace Protea.Cli.Commands;

/// <summary>`protea serve`: the web app (page + JSON API) over a saved image model, until Ctrl+C.</summary>
public static class ServeCommand
{
    public const string Examples = """
        protea serve --model runs/fmnist
        protea serve --model runs/fmnist --port 8080 --max-upload 2MB --max-files 16
        """;

    private static readonly Option<string> Model = new("--model") { Description = "Model folder (as train writes it); classes taught in the page are saved into it", Required = true };
    private static readonly Option<int> Port = new("--port") { Description = "TCP port", DefaultValueFactory = _ => 8080 };
    private static readonly Option<string> Host = new("--host") { Description = "Address to bind: 127.0.0.1 (this machine only) unless you mean to share it", DefaultValueFactory = _ => "127.0.0.1" };
    private static readonly Option<string> MaxUpload = new("--max-upload") { Description = "Largest upload per request, all files together (e.g. 5MB, 512KB)", DefaultValueFactory = _ => "5MB" };
    private static readonly Option<int> MaxFiles = new("--max-files") { Description = "Most files per request", DefaultValueFactory = _ => WebOptions.DefaultMaxFiles };
    private static readonly Option<int> Top = new("--top") { Description = "Classes listed per prediction", DefaultValueFactory = _ => 3 };
    // Half the cores by default: the other half reads, decodes and answers requests while a batch runs
    // (on 2 cores, ONNX at 1 thread measured p95 29 ms under 50 clients, at 2 threads 33 ms: bench/results/web.md).
    private static readonly Option<int> Threads = new("--threads") { Description = "CPU threads for inference (default: half the cores)", DefaultValueFactory = _ => Math.Max(1, Environment.ProcessorCount / 2) };

    public static Command Create(CliConsole console)
    {
        var command = new Command("serve",
            "Serve a saved image model as a web app: upload images and see the top classes, the unknown score and the evidence " +
            "(prototypes or nearest training items); teach a class from a few images; cluster unlabelled images and adopt clusters " +
            "as classes. JSON API under /api (OpenAPI at /openapi/v1.json). Binds to loopback by default.")
        {
            Model, Port, Host, MaxUpload, MaxFiles, Top, Threads,
        };
        command.SetAction(p =>
        {
            var threads = p.GetValue(Threads);
            if (threads < 1) throw new ProteaException($"the thread count must be at least 1, not {threads}", "threads");
            HostSetup.SetTorchThreads(threads);
            var options = new WebOptions
            {
                ModelDir = p.GetValue(Model)!,
                Port = p.GetValue(Port),
                Host = p.GetValue(Host)!,
                MaxUploadBytes = WebOptions.ParseSize(p.GetValue(MaxUpload)!),
                MaxFiles = p.GetValue(MaxFiles),
                Top = p.GetValue(Top),
                Threads = threads,
            };
            var app = ProteaWebApp.Build(options);
            app.Lifetime.ApplicationStarted.Register(() =>
                console.Error.WriteLine($"protea: serving {Path.GetFullPath(options.ModelDir)} at http://{options.Host}:{options.Port}/ (Ctrl+C stops)"));
            app.Run();
            return 0;
        });
        return command;
    }
}

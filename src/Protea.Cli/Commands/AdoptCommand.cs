using System.CommandLine;
using Protea.Incremental;
using TorchSharp;

namespace Protea.Cli.Commands;

/// <summary>`protea adopt`: turns a cluster that discover found into a new class of the saved model.</summary>
public static class AdoptCommand
{
    public const string Examples = """
        protea adopt --model runs/fmnist --discovery runs/gcd --cluster 7 --name sandal
        protea adopt --model runs/cells --discovery runs/cells-discover --cluster 3 --name t-cell --method teen --json
        """;

    private static readonly Option<string> Model = new("--model") { Description = "Model folder the discovery embedded with (its head must be ncm or cosine)", Required = true };
    private static readonly Option<string> Discovery = new("--discovery") { Description = "Folder discover wrote (clusters.json, assignments.csv)", Required = true };
    private static readonly Option<int> Cluster = new("--cluster") { Description = "Id of a new cluster in clusters.json", Required = true };
    private static readonly Option<string> Name = new("--name") { Description = "Name of the new class", Required = true };
    private static readonly Option<string> Method = new("--method") { Description = "ncm (class mean of normalised embeddings) | teen (calibrated towards similar old classes)", DefaultValueFactory = _ => "ncm" };
    private static readonly Option<int> Threads = new("--threads") { Description = "CPU threads", DefaultValueFactory = _ => Environment.ProcessorCount };
    private static readonly Option<bool> Json = new("--json") { Description = "Print one JSON object" };

    public static Command Create(CliConsole console)
    {
        var command = new Command("adopt",
            "Turn a discovered cluster into a new class of the saved model, without training: the cluster's unlabelled items " +
            "(read again from the data the discovery used) give the class its prototype, as learn-class does. The old classes " +
            "score as before; the model is replaced atomically and the adoption is recorded in clusters.json.")
        {
            Model, Discovery, Cluster, Name, Method, Threads, Json,
        };
        command.SetAction(p =>
        {
            var threads = p.GetValue(Threads);
            if (threads < 1) throw new ProteaException($"the thread count must be at least 1, not {threads}", "threads");
            torch.set_num_threads(threads);
            var method = p.GetValue(Method)!;
            if (!ClassLearner.Methods.Contains(method))
                throw new ProteaException($"method '{method}' is not known for adding classes; known: {string.Join(", ", ClassLearner.Methods)}", "method");
            var result = ClusterAdoption.Adopt(p.GetValue(Model)!, p.GetValue(Discovery)!, p.GetValue(Cluster), p.GetValue(Name)!, method);
            if (p.GetValue(Json)) console.WriteJson(result);
            else
                console.Out.WriteLine($"adopted cluster {result.Cluster} ({result.Items} items, {result.Learned.Method}) as class '{result.Name}': " +
                    $"{result.Learned.ClassesBefore} -> {result.Learned.ClassesAfter} classes; model.onnx: {result.Learned.Onnx}");
            return 0;
        });
        return command;
    }
}

using System.CommandLine;
using Protea.Prototypes;

namespace Protea.Cli.Commands;

/// <summary>`protea prototypes`: a parts model's prototypes as an offline gallery (one PNG each and index.html).</summary>
public static class PrototypesCommand
{
    public const string Examples = """
        protea prototypes --model runs/parts --out runs/parts/gallery
        """;

    private static readonly Option<string> Model = new("--model") { Description = "Model folder (trained with --head parts)", Required = true };
    private static readonly Option<string> Out = new("--out") { Description = "Folder for index.html and one PNG per prototype", Required = true };
    private static readonly Option<bool> Json = new("--json") { Description = "Print one JSON object" };

    public sealed record PrototypesOutput(string Model, string Out, string Index, int Prototypes);

    public static Command Create(CliConsole console)
    {
        var command = new Command("prototypes", "Write a parts model's prototypes as a gallery readable offline: one PNG per prototype (its source training patch boxed in its image, beside its activation) and index.html grouped by class with each prototype's source item and the hygiene summary.")
        { Model, Out, Json };
        command.SetAction(p =>
        {
            var (model, outDir) = (p.GetValue(Model)!, p.GetValue(Out)!);
            var result = PrototypeGalleryPage.Write(model, outDir);
            var index = Path.Combine(outDir, result.Index);
            if (p.GetValue(Json)) console.WriteJson(new PrototypesOutput(model, outDir, index, result.Pictures.Count));
            else console.Out.WriteLine($"wrote {index} and {result.Pictures.Count} prototype pictures");
            return 0;
        });
        return command;
    }
}

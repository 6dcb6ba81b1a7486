using System.CommandLine;
using Protea.Deploy;

namespace Protea.Cli.Commands;

/// <summary>`protea export`: write the model as ONNX (normalisation inside, BatchNorm folded, logits + embedding outputs).</summary>
public static class ExportCommand
{
    public const string Examples = """
        protea export --model runs/quickstart --format onnx
        protea export --model runs/quickstart --format onnx --out deploy/fmnist.onnx
        """;

    private static readonly Option<string> Model = new("--model") { Description = "Model folder", Required = true };
    private static readonly Option<string> Format = new("--format") { Description = "Export format: onnx", DefaultValueFactory = _ => "onnx" };
    private static readonly Option<string?> Out = new("--out") { Description = "Output file (default: MODEL/model.onnx, which eval and predict then use)" };
    private static readonly Option<bool> Json = new("--json") { Description = "Print one JSON object" };

    public sealed record ExportOutput(string Model, string Format, string Path, long Bytes);

    public static Command Create(CliConsole console)
    {
        var command = new Command("export", "Export a saved model for ONNX Runtime (any language) or an inference server (Triton, KServe). Input 'input': raw pixels 0..255 as float32 [batch, C, H, W] (or features [batch, D]); outputs 'logits' [batch, classes] and 'embedding' [batch, D]; class names in the metadata.")
        { Model, Format, Out, Json };
        command.SetAction(p =>
        {
            var format = p.GetValue(Format)!;
            if (!string.Equals(format, "onnx", StringComparison.OrdinalIgnoreCase))
                throw new ProteaException($"--format {format}: unknown export format; the supported format is onnx");
            var path = OnnxExporter.Export(p.GetValue(Model)!, p.GetValue(Out));
            var result = new ExportOutput(p.GetValue(Model)!, "onnx", path, new FileInfo(path).Length);
            if (p.GetValue(Json)) console.WriteJson(result);
            else console.Out.WriteLine($"wrote {path} ({result.Bytes / 1024.0:N0} KiB)");
            return 0;
        });
        return command;
    }
}

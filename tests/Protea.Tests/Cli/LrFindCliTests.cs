using System.Text.Json;
using Protea.Tests.Support;

namespace Protea.Tests.Cli;

public sealed class LrFindCliTests
{
    [Fact]
    public void LrFind_OnIris_WritesThePlotAndCurve_AndPrintsTheSuggestion()
    {
        using var dir = new TempDir();
        var outDir = dir.File("lr");
        var r = CliRunner.Run("lr-find", "--data", TestData.IrisCsv, "--label", "species", "--arch", "mlp", "--out", outDir, "--json", "--threads", "1");
        Assert.True(r.ExitCode == 0, r.Stderr);
        using var json = JsonDocument.Parse(r.Stdout);
        var root = json.RootElement;
        var suggestion = root.GetProperty("suggestion").GetDouble();
        var curve = root.GetProperty("curve").EnumerateArray().ToList();
        Assert.InRange(curve.Count, 5, 100);
        Assert.InRange(suggestion, 1e-6, 10);
        // Iris, 150 rows: the auto recipe's batch (150/8 = 18 -> 16).
        Assert.Equal(16, root.GetProperty("batch_size").GetInt32());
        Assert.Contains(curve, p => Math.Abs(p.GetProperty("learning_rate").GetDouble() - suggestion) < 1e-12);
        Assert.Equal([0x89, (byte)'P', (byte)'N', (byte)'G'], File.ReadAllBytes(Path.Combine(outDir, "lr-find.png"))[..4]);
        using var saved = JsonDocument.Parse(File.ReadAllText(Path.Combine(outDir, "lr-find.json")));
        Assert.Equal(suggestion, saved.RootElement.GetProperty("suggestion").GetDouble());

        var plain = CliRunner.Run("lr-find", "--data", TestData.IrisCsv, "--label", "species", "--arch", "mlp", "--steps", "20", "--threads", "1");
        Assert.True(plain.ExitCode == 0, plain.Stderr);
        Assert.StartsWith("suggested learning rate: ", plain.Stdout);

        var help = CliRunner.Run("lr-find", "--help");
        Assert.Contains("--max-seconds", help.Stdout);
        Assert.Contains("1e-6 to 10", help.Stdout);
    }
}

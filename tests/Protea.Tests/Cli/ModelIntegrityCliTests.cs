using System.Diagnostics;
using Protea.Data;
using Protea.Models;
using Protea.Tests.Support;

namespace Protea.Tests.Cli;

/// <summary>A damaged weights file is refused at the CLI with exit 2 and one line; the real process keeps its own messages on stderr.</summary>
public sealed class ModelIntegrityCliTests : IDisposable
{
    private readonly TempDir dir = new();

    public void Dispose() => dir.Dispose();

    private (string Model, string Csv) SaveTabularModel()
    {
        var description = new ModelDescription
        {
            Architecture = "mlp",
            Head = "linear",
            InputKind = InputKind.Tabular,
            InputShape = [3],
            ClassNames = ["a", "b"],
            Normalization = new InputNormalization([0, 0, 0], [1, 1, 1], 1),
        };
        var model = dir.File("model");
        using (var bundle = new ModelBundle(description, Architectures.Create(description)))
            bundle.Save(model);
        var csv = dir.File("rows.csv");
        File.WriteAllLines(csv, ["x,y,z,label", "1,2,3,", "0.5,-1,2,"]);
        return (model, csv);
    }

    [Fact]
    public void Predict_WithOneFlippedBitInTheWeights_ExitsTwoWithOneLine()
    {
        var (model, csv) = SaveTabularModel();
        Assert.Equal(0, CliRunner.Run("predict", "--model", model, csv, "--engine", "torch").ExitCode);
        var weights = ModelBundle.WeightsPath(model);
        var bytes = File.ReadAllBytes(weights);
        bytes[^3] ^= 0x01;
        File.WriteAllBytes(weights, bytes);

        var r = CliRunner.Run("predict", "--model", model, csv, "--engine", "torch");

        Assert.Equal(2, r.ExitCode);
        Assert.Equal("", r.Stdout);
        Assert.Single(r.Stderr.TrimEnd().Split('\n'));
        Assert.Contains($"{weights}: its SHA-256 differs", r.Stderr);
    }

    /// <summary>
    /// The real `protea` process diverts native libraries' stderr to a log file (see NativeNoise): its
    /// own one-line errors must still reach the caller's stderr, and nothing else may.
    /// </summary>
    [Fact]
    public async Task RealProcess_OwnErrorsStillReachStderr()
    {
        var cli = Path.Combine(AppContext.BaseDirectory, "Protea.Cli.dll");
        var psi = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var a in new[] { cli, "eval", "--model", dir.File("absent"), "--data", "fashion-mnist" }) psi.ArgumentList.Add(a);
        using var p = Process.Start(psi)!;
        var stdout = p.StandardOutput.ReadToEndAsync();
        var stderr = await p.StandardError.ReadToEndAsync(TestContext.Current.CancellationToken);
        await p.WaitForExitAsync(TestContext.Current.CancellationToken);
        Assert.Equal(2, p.ExitCode);
        Assert.Equal("", await stdout);
        var line = Assert.Single(stderr.TrimEnd().Split('\n'));
        Assert.StartsWith("protea: ", line);
        Assert.Contains($"{dir.File("absent")}: no such directory", line);
    }
}

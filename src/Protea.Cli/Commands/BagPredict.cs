using Protea.Deploy;
using Protea.Mil;

namespace Protea.Cli.Commands;

/// <summary>`protea predict` on a bag model: the bag's class and probability and its most weighted patches.</summary>
internal static class BagPredict
{
    public sealed record PatchLine(int Rank, int X, int Y, int Width, int Height, double Weight);
    public sealed record BagLine(string Input, string Class, double Probability, IReadOnlyList<Predictions.ClassProbability> Top, IReadOnlyList<PatchLine> Patches);
    public sealed record BagPredictOutput(string Model, string Engine, IReadOnlyList<BagLine> Predictions);

    public static int Run(CliConsole console, string modelDir, IReadOnlyList<string> files, int top, EngineChoice choice, int threads, bool json)
    {
        using var predictor = BagPredictor.Open(modelDir, choice, threads);
        var lines = files.Select(f =>
        {
            var p = predictor.Predict(f, topPatches: 5);
            return new BagLine(f, p.Prediction.Class, p.Prediction.Probability, p.Prediction.Top.Take(top).ToList(),
                p.TopPatches.Select(e => new PatchLine(e.Rank, e.Box.X, e.Box.Y, e.Box.Width, e.Box.Height, e.Weight)).ToList());
        }).ToList();
        if (json) console.WriteJson(new BagPredictOutput(modelDir, predictor.EngineName, lines));
        else foreach (var l in lines)
            console.Out.WriteLine($"{l.Input}: {string.Join(", ", l.Top.Select(t => $"{t.Class} {t.Probability:P1}"))}; top patches: "
                + string.Join(", ", l.Patches.Select(q => $"({q.X},{q.Y} {q.Width}x{q.Height}) {q.Weight:0.000}")));
        return 0;
    }
}

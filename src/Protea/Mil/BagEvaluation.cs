using System.Diagnostics;
using Protea.Evaluation;

namespace Protea.Mil;

/// <summary>
/// How a bag model does on a labelled bag folder: bag accuracy; for two classes, the bag AUROC of the
/// second class's probability (positive sorts after negative); with a tiles.csv, the patch-localisation
/// AUROC: over the kept patches of the second class's bags, the patch weight times the bag's patch
/// count (1 = uniform, so bags of different sizes compare) against whether the patch overlaps a target tile.
/// </summary>
public sealed record BagEvaluation(int Bags, long Patches, double Accuracy, double? BagAuroc, double? LocalisationAuroc, double Seconds)
{
    public static BagEvaluation Run(BagPredictor predictor, BagFolder bags, string? tilesCsv = null, IProgress<int>? progress = null)
    {
        var tiles = tilesCsv is not null && File.Exists(tilesCsv) ? BagMosaicGenerator.ReadTiles(tilesCsv) : null;
        var binary = bags.ClassNames.Count == 2;
        var positiveClass = bags.ClassNames[^1];
        var bagScores = new List<double>();
        var bagPositive = new List<bool>();
        var patchScores = new List<double>();
        var patchTarget = new List<bool>();
        int correct = 0;
        long patches = 0;
        var clock = Stopwatch.StartNew();
        for (var i = 0; i < bags.Count; i++)
        {
            var item = bags.Items[i];
            var p = predictor.Predict(item.Path, topPatches: 0);
            patches += p.Boxes.Count;
            if (p.Prediction.Class == bags.ClassNames[item.Label]) correct++;
            if (binary)
            {
                bagScores.Add(p.Prediction.Top.First(t => t.Class == positiveClass).Probability);
                bagPositive.Add(item.Label == 1);
            }
            var key = Path.GetRelativePath(bags.Root, item.Path).Replace('\\', '/');
            if (tiles is not null && item.Label == bags.ClassNames.Count - 1 && tiles.TryGetValue(key, out var truth))
                for (var j = 0; j < p.Boxes.Count; j++)
                {
                    patchScores.Add(p.Weights[j] * p.Boxes.Count);
                    patchTarget.Add(truth.Any(t => t.Target && t.Box.Overlaps(p.Boxes[j])));
                }
            progress?.Report(i + 1);
        }
        double? bagAuroc = binary && bagPositive.Distinct().Count() == 2 ? OodMetrics.RocAuc(bagScores, bagPositive) : null;
        double? locAuroc = patchTarget.Distinct().Count() == 2 ? OodMetrics.RocAuc(patchScores, patchTarget) : null;
        return new BagEvaluation(bags.Count, patches, (double)correct / bags.Count, bagAuroc, locAuroc, clock.Elapsed.TotalSeconds);
    }
}

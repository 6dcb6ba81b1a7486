using System.Text.Json.Nodes;
using Protea.Deploy;
using static TorchSharp.torch;

namespace Protea.Discovery;

/// <summary>
/// Mahalanobis distance on embeddings (Lee et al. 2018): class means and one covariance shared by all
/// classes (of the class-centred training embeddings), shrunk towards a scaled identity (Ledoit-Wolf
/// by default); score = min over classes of (x − μc)ᵀ Σ⁻¹ (x − μc), in float64.
/// </summary>
public sealed class MahalanobisScorer : IUnknownScorer
{
    public const string ScorerName = "mahalanobis";
    private const string MeansName = "mahalanobis.means", PrecisionName = "mahalanobis.precision";

    private readonly Tensor means, precision, meanTerms;

    private MahalanobisScorer(Tensor means, Tensor precision, double shrinkage)
    {
        this.means = means;
        this.precision = precision;
        Shrinkage = shrinkage;
        using var mp = means.matmul(precision);
        meanTerms = (mp * means).sum(1).DetachFromDisposeScope();
        Tensors = new Dictionary<string, Tensor> { [MeansName] = means, [PrecisionName] = precision };
    }

    /// <summary>The shrinkage used (chosen by Ledoit-Wolf unless fixed).</summary>
    public double Shrinkage { get; }

    public string Name => ScorerName;

    /// <summary>Fits on training outputs with their class indices (−1: unlabelled, left out).</summary>
    public static MahalanobisScorer Fit(InferenceOutput train, IReadOnlyList<long> labels, double? shrinkage = null)
    {
        Embeddings.CheckFit(train, labels, ScorerName);
        using var scope = NewDisposeScope();
        var x = Embeddings.Of(train, float64);
        var groups = Embeddings.ByClass(labels);
        var classMeans = new List<Tensor>();
        var centred = new List<Tensor>();
        foreach (var (_, rows) in groups)
        {
            var members = x.index_select(0, tensor(rows));
            var mean = members.mean([0]);
            classMeans.Add(mean);
            centred.Add(members - mean);
        }
        var c = cat(centred, 0);
        var s = shrinkage ?? LedoitWolf.Shrinkage(c);
        var covariance = LedoitWolf.Covariance(c, s);
        var p = linalg.pinv(covariance, hermitian: true);
        return new MahalanobisScorer(stack(classMeans).MoveToOuterDisposeScope(), p.MoveToOuterDisposeScope(), s);
    }

    internal static MahalanobisScorer Restore(IReadOnlyDictionary<string, Tensor> tensors, JsonObject? settings) =>
        new(Stored.Take(tensors, MeansName, ScorerName).to(float64), Stored.Take(tensors, PrecisionName, ScorerName).to(float64),
            settings?["shrinkage"]?.GetValue<double>() ?? 0);

    public double[] Score(InferenceOutput output) => Embeddings.ScoreInBatches(output, float64, x =>
    {
        var xp = x.matmul(precision);
        var d = (xp * x).sum(1, keepdim: true) - 2 * xp.matmul(means.t()) + meanTerms.unsqueeze(0);
        return d.min(1).values;
    });

    public IReadOnlyDictionary<string, Tensor> Tensors { get; }

    public JsonObject? Settings => new() { ["shrinkage"] = Shrinkage };

    public void Dispose()
    {
        means.Dispose();
        precision.Dispose();
        meanTerms.Dispose();
    }
}

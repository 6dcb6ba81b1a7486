using Protea.Data;
using Protea.Models;
using TorchSharp;
using static TorchSharp.torch;

namespace Protea.Incremental;

/// <summary>
/// Adds classes to a grown model without training: each new class's prototype is the mean of its
/// items' L2-normalised embeddings (an NCM head's class mean, or a cosine head's imprinted weight,
/// Qi et al. 2018), optionally calibrated towards similar old prototypes (<see cref="TeenCalibration"/>).
/// The backbone and the old classes' prototypes are not touched, so old classes score exactly as before.
/// </summary>
public static class Prototypes
{
    /// <param name="grown">A model whose head has grown by the new classes (their prototypes still unset).</param>
    /// <param name="data">Items of the new classes only, labelled by class index in the grown model.</param>
    /// <param name="oldClasses">How many classes the model had before growing.</param>
    /// <param name="teen">Calibrate the new prototypes with TEEN.</param>
    public static void AddClasses(ModelBundle grown, Dataset data, int oldClasses, bool teen,
        double teenTemperature = TeenCalibration.DefaultTemperature, double teenAlpha = TeenCalibration.DefaultAlpha)
    {
        var k = (int)grown.Model.Head.NumClasses;
        if (data.Labels.Any(l => l < oldClasses || l >= k))
            throw new ArgumentException($"the new classes' items must be labelled {oldClasses}..{k - 1}");
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        var zn = TrainedMethod.NormalizedEmbeddings(grown, data);
        var means = ClassMeans(zn, data.Labels, k).narrow(0, oldClasses, k - oldClasses);
        switch (grown.Model.Head)
        {
            case NcmHead ncm:
                var fitted = teen ? TeenCalibration.Calibrate(ncm.Prototypes.narrow(0, 0, oldClasses), means, teenTemperature, teenAlpha) : means;
                ncm.Prototypes.narrow(0, oldClasses, k - oldClasses).copy_(fitted);
                break;
            case CosineHead cosine:
                var state = cosine.state_dict();
                var old = nn.functional.normalize(state["weight"].narrow(0, 0, oldClasses), dim: 1);
                var imprinted = teen ? TeenCalibration.Calibrate(old, nn.functional.normalize(means, dim: 1), teenTemperature, teenAlpha) : means;
                for (var c = oldClasses; c < k; c++) cosine.Imprint(c, imprinted[c - oldClasses]);
                break;
            default:
                throw new ProteaException($"head '{grown.Description.Head}' has no prototypes to add a class to without training; train the model with head ncm or cosine", "head");
        }
    }

    /// <summary>Per-class means [K, D] of <paramref name="embeddings"/>; a class without items gets zeros.</summary>
    public static Tensor ClassMeans(Tensor embeddings, long[] labels, int k)
    {
        using var y = tensor(labels);
        using var one = 1.ToScalar();
        var sums = zeros(k, embeddings.shape[1], dtype: embeddings.dtype).index_add_(0, y, embeddings, one);
        var counts = zeros(k, dtype: embeddings.dtype).index_add_(0, y, ones(labels.Length, dtype: embeddings.dtype), one);
        return sums.div(counts.clamp_min(one).unsqueeze(1));
    }
}

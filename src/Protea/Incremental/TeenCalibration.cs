using TorchSharp;
using static TorchSharp.torch;

namespace Protea.Incremental;

/// <summary>
/// TEEN (Wang et al. 2023, "Few-Shot Class-Incremental Learning via Training-Free Prototype
/// Calibration"): a new class's prototype, estimated from a few shots, is pulled towards the old
/// prototypes it resembles: w = softmax_o(tau * cos(p_new, p_o)), p' = alpha p_new + (1 - alpha) sum_o w_o p_o.
/// Old prototypes are not changed. Defaults as in the paper's code: tau = 16, alpha = 0.5.
/// </summary>
public static class TeenCalibration
{
    public const double DefaultTemperature = 16;
    public const double DefaultAlpha = 0.5;

    /// <param name="oldPrototypes">[K_old, D].</param>
    /// <param name="newPrototypes">[K_new, D].</param>
    /// <returns>The calibrated new prototypes [K_new, D].</returns>
    public static Tensor Calibrate(Tensor oldPrototypes, Tensor newPrototypes, double temperature = DefaultTemperature, double alpha = DefaultAlpha)
    {
        if (alpha is < 0 or > 1 || !double.IsFinite(alpha))
            throw new ProteaException($"the TEEN mixing weight {alpha} must be between 0 and 1", "teen_alpha");
        if (temperature <= 0 || !double.IsFinite(temperature))
            throw new ProteaException($"the TEEN temperature {temperature} must be a positive number", "teen_temperature");
        using var scope = NewDisposeScope();
        var similarity = nn.functional.normalize(newPrototypes, dim: 1).matmul(nn.functional.normalize(oldPrototypes, dim: 1).t());
        using var tau = temperature.ToScalar();
        var weights = nn.functional.softmax(similarity.mul(tau), 1);
        using var a = alpha.ToScalar();
        using var b = (1 - alpha).ToScalar();
        return newPrototypes.mul(a).add(weights.matmul(oldPrototypes).mul(b)).MoveToOuterDisposeScope();
    }
}

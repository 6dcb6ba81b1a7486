using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Protea.Training.Optimizers;

/// <summary>
/// AdamW (Loshchilov &amp; Hutter 2019) as torch.optim.AdamW: decoupled decay p *= 1 - lr * wd, then
/// bias-corrected Adam: m = b1 m + (1 - b1) g, v = b2 v + (1 - b2) g^2,
/// p -= lr / (1 - b1^t) * m / (sqrt(v) / sqrt(1 - b2^t) + eps).
/// </summary>
public sealed class AdamW(IReadOnlyList<(string Name, Parameter Param)> parameters, double weightDecay,
    double beta1 = 0.9, double beta2 = 0.999, double eps = 1e-8) : IOptimizer
{
    private readonly Tensor?[] expAvg = new Tensor?[parameters.Count];
    private readonly Tensor?[] expAvgSq = new Tensor?[parameters.Count];
    private long step;

    public void Step(double learningRate, double momentum)
    {
        step++;
        using var noGrad = no_grad();
        using var decay = (1 - learningRate * weightDecay).ToScalar();
        using var b1 = beta1.ToScalar();
        using var oneMinusB1 = (1 - beta1).ToScalar();
        using var b2 = beta2.ToScalar();
        using var oneMinusB2 = (1 - beta2).ToScalar();
        using var sqrtBias2 = Math.Sqrt(1 - Math.Pow(beta2, step)).ToScalar();
        using var epsilon = eps.ToScalar();
        using var negStep = (-learningRate / (1 - Math.Pow(beta1, step))).ToScalar();
        for (var i = 0; i < parameters.Count; i++)
        {
            var p = parameters[i].Param;
            using var grad = p.grad;
            if (grad is null) continue;
            using var scope = NewDisposeScope();
            expAvg[i] ??= zeros_like(p).DetachFromDisposeScope();
            expAvgSq[i] ??= zeros_like(p).DetachFromDisposeScope();
            p.mul_(decay);
            expAvg[i]!.mul_(b1).add_(grad, oneMinusB1);
            expAvgSq[i]!.mul_(b2).addcmul_(grad, grad, oneMinusB2);
            var denom = expAvgSq[i]!.sqrt().div_(sqrtBias2).add_(epsilon);
            p.addcdiv_(expAvg[i]!, denom, negStep);
        }
    }

    public void ZeroGrad()
    {
        foreach (var (_, p) in parameters) p.grad = null;
    }

    public IEnumerable<KeyValuePair<string, Tensor>> State()
    {
        yield return KeyValuePair.Create("step", tensor(step));
        for (var i = 0; i < parameters.Count; i++)
        {
            if (expAvg[i] is { } m) yield return KeyValuePair.Create($"exp_avg.{parameters[i].Name}", m);
            if (expAvgSq[i] is { } v) yield return KeyValuePair.Create($"exp_avg_sq.{parameters[i].Name}", v);
        }
    }

    public void LoadState(IReadOnlyDictionary<string, Tensor> state, string source)
    {
        step = state.TryGetValue("step", out var s) ? s.item<long>() : 0;
        for (var i = 0; i < parameters.Count; i++)
        {
            expAvg[i]?.Dispose();
            expAvgSq[i]?.Dispose();
            expAvg[i] = state.TryGetValue($"exp_avg.{parameters[i].Name}", out var m) ? Sgd.Checked(m, parameters[i], source) : null;
            expAvgSq[i] = state.TryGetValue($"exp_avg_sq.{parameters[i].Name}", out var v) ? Sgd.Checked(v, parameters[i], source) : null;
        }
    }

    public void Dispose()
    {
        foreach (var t in expAvg.Concat(expAvgSq)) t?.Dispose();
    }
}

using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Protea.Training.Optimizers;

/// <summary>
/// AdamW (Loshchilov &amp; Hutter 2019) as torch.optim.AdamW: decoupled decay p *= 1 - lr * wd, then
/// bias-corrected Adam: m = b1 m + (1 - b1) g, v = b2 v + (1 - b2) g^2,
/// p -= lr / (1 - b1^t) * m / (sqrt(v) / sqrt(1 - b2^t) + eps). With parameter groups, each group
/// steps with lr * its scale and its own weight decay (the step count t is shared, as in torch
/// when every parameter has a gradient at every step).
/// </summary>
public sealed class AdamW : IOptimizer
{
    private readonly IReadOnlyList<OptimizerGroup> groups;
    private readonly double beta1, beta2, eps;
    private readonly Tensor?[] expAvg;
    private readonly Tensor?[] expAvgSq;
    private long step;

    public AdamW(IReadOnlyList<(string Name, Parameter Param)> parameters, double weightDecay,
        double beta1 = 0.9, double beta2 = 0.999, double eps = 1e-8)
        : this([new OptimizerGroup(parameters, weightDecay)], beta1, beta2, eps) { }

    public AdamW(IReadOnlyList<OptimizerGroup> groups, double beta1 = 0.9, double beta2 = 0.999, double eps = 1e-8)
    {
        this.groups = groups;
        (this.beta1, this.beta2, this.eps) = (beta1, beta2, eps);
        var count = groups.Sum(g => g.Parameters.Count);
        expAvg = new Tensor?[count];
        expAvgSq = new Tensor?[count];
    }

    private IEnumerable<(string Name, Parameter Param)> Parameters => groups.SelectMany(g => g.Parameters);

    public void Step(double learningRate, double momentum)
    {
        step++;
        using var noGrad = no_grad();
        using var b1 = beta1.ToScalar();
        using var oneMinusB1 = (1 - beta1).ToScalar();
        using var b2 = beta2.ToScalar();
        using var oneMinusB2 = (1 - beta2).ToScalar();
        using var sqrtBias2 = Math.Sqrt(1 - Math.Pow(beta2, step)).ToScalar();
        using var epsilon = eps.ToScalar();
        var i = 0;
        foreach (var group in groups)
        {
            var lr = learningRate * group.LearningRateScale;
            using var decay = (1 - lr * group.WeightDecay).ToScalar();
            using var negStep = (-lr / (1 - Math.Pow(beta1, step))).ToScalar();
            foreach (var (_, p) in group.Parameters)
            {
                var slot = i++;
                using var grad = p.grad;
                if (grad is null) continue;
                using var scope = NewDisposeScope();
                expAvg[slot] ??= zeros_like(p).DetachFromDisposeScope();
                expAvgSq[slot] ??= zeros_like(p).DetachFromDisposeScope();
                p.mul_(decay);
                expAvg[slot]!.mul_(b1).add_(grad, oneMinusB1);
                expAvgSq[slot]!.mul_(b2).addcmul_(grad, grad, oneMinusB2);
                var denom = expAvgSq[slot]!.sqrt().div_(sqrtBias2).add_(epsilon);
                p.addcdiv_(expAvg[slot]!, denom, negStep);
            }
        }
    }

    public void ZeroGrad()
    {
        foreach (var (_, p) in Parameters) p.grad = null;
    }

    public IEnumerable<KeyValuePair<string, Tensor>> State()
    {
        yield return KeyValuePair.Create("step", tensor(step));
        var i = 0;
        foreach (var (name, _) in Parameters)
        {
            if (expAvg[i] is { } m) yield return KeyValuePair.Create($"exp_avg.{name}", m);
            if (expAvgSq[i] is { } v) yield return KeyValuePair.Create($"exp_avg_sq.{name}", v);
            i++;
        }
    }

    public void LoadState(IReadOnlyDictionary<string, Tensor> state, string source)
    {
        step = state.TryGetValue("step", out var s) ? s.item<long>() : 0;
        var i = 0;
        foreach (var p in Parameters)
        {
            expAvg[i]?.Dispose();
            expAvgSq[i]?.Dispose();
            expAvg[i] = state.TryGetValue($"exp_avg.{p.Name}", out var m) ? Sgd.Checked(m, p, source) : null;
            expAvgSq[i] = state.TryGetValue($"exp_avg_sq.{p.Name}", out var v) ? Sgd.Checked(v, p, source) : null;
            i++;
        }
    }

    public void Dispose()
    {
        foreach (var t in expAvg.Concat(expAvgSq)) t?.Dispose();
    }
}

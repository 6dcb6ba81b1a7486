using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Protea.Training.Optimizers;

/// <summary>
/// SGD as torch.optim.SGD (dampening 0): d = g + wd * p; buf = d on the first step, else
/// momentum * buf + d; d = d + momentum * buf (Nesterov) or buf; p -= lr * d. With parameter
/// groups, each group steps with lr * its scale and its own weight decay.
/// </summary>
public sealed class Sgd : IOptimizer
{
    private readonly IReadOnlyList<OptimizerGroup> groups;
    private readonly bool nesterov;
    private readonly Tensor?[] buffers;

    public Sgd(IReadOnlyList<(string Name, Parameter Param)> parameters, double weightDecay, bool nesterov)
        : this([new OptimizerGroup(parameters, weightDecay)], nesterov) { }

    public Sgd(IReadOnlyList<OptimizerGroup> groups, bool nesterov)
    {
        this.groups = groups;
        this.nesterov = nesterov;
        buffers = new Tensor?[groups.Sum(g => g.Parameters.Count)];
    }

    private IEnumerable<(string Name, Parameter Param)> Parameters => groups.SelectMany(g => g.Parameters);

    public void Step(double learningRate, double momentum)
    {
        using var noGrad = no_grad();
        using var mom = momentum.ToScalar();
        var i = 0;
        foreach (var group in groups)
        {
            using var wd = group.WeightDecay.ToScalar();
            using var negLr = (-learningRate * group.LearningRateScale).ToScalar();
            foreach (var (_, p) in group.Parameters)
            {
                var slot = i++;
                using var grad = p.grad;
                if (grad is null) continue;
                using var scope = NewDisposeScope();
                var d = group.WeightDecay != 0 ? grad.add(p, wd) : grad;
                if (momentum != 0)
                {
                    if (buffers[slot] is null)
                        buffers[slot] = d.clone().DetachFromDisposeScope();
                    else
                        buffers[slot]!.mul_(mom).add_(d);
                    d = nesterov ? d.add(buffers[slot]!, mom) : buffers[slot]!;
                }
                p.add_(d, negLr);
            }
        }
    }

    public void ZeroGrad()
    {
        foreach (var (_, p) in Parameters) p.grad = null;
    }

    public IEnumerable<KeyValuePair<string, Tensor>> State()
    {
        var i = 0;
        foreach (var (name, _) in Parameters)
            if (buffers[i++] is { } b)
                yield return KeyValuePair.Create($"momentum_buffer.{name}", b);
    }

    public void LoadState(IReadOnlyDictionary<string, Tensor> state, string source)
    {
        var i = 0;
        foreach (var p in Parameters)
        {
            buffers[i]?.Dispose();
            buffers[i++] = state.TryGetValue($"momentum_buffer.{p.Name}", out var t) ? Checked(t, p, source) : null;
        }
    }

    internal static Tensor Checked(Tensor t, (string Name, Parameter Param) p, string source) =>
        t.shape.SequenceEqual(p.Param.shape)
            ? t.to(p.Param.dtype).clone().DetachFromDisposeScope()
            : throw new ProteaException($"{source}: optimizer state for '{p.Name}' has shape [{string.Join(", ", t.shape)}], expected [{string.Join(", ", p.Param.shape)}]");

    public void Dispose()
    {
        foreach (var b in buffers) b?.Dispose();
    }
}

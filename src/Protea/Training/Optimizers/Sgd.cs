using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Protea.Training.Optimizers;

/// <summary>
/// SGD as torch.optim.SGD (dampening 0): d = g + wd * p; buf = d on the first step, else
/// momentum * buf + d; d = d + momentum * buf (Nesterov) or buf; p -= lr * d.
/// </summary>
public sealed class Sgd(IReadOnlyList<(string Name, Parameter Param)> parameters, double weightDecay, bool nesterov) : IOptimizer
{
    private readonly Tensor?[] buffers = new Tensor?[parameters.Count];

    public void Step(double learningRate, double momentum)
    {
        using var noGrad = no_grad();
        using var wd = weightDecay.ToScalar();
        using var mom = momentum.ToScalar();
        using var negLr = (-learningRate).ToScalar();
        for (var i = 0; i < parameters.Count; i++)
        {
            var p = parameters[i].Param;
            using var grad = p.grad;
            if (grad is null) continue;
            using var scope = NewDisposeScope();
            var d = weightDecay != 0 ? grad.add(p, wd) : grad;
            if (momentum != 0)
            {
                if (buffers[i] is null)
                    buffers[i] = d.clone().DetachFromDisposeScope();
                else
                    buffers[i]!.mul_(mom).add_(d);
                d = nesterov ? d.add(buffers[i]!, mom) : buffers[i]!;
            }
            p.add_(d, negLr);
        }
    }

    public void ZeroGrad()
    {
        foreach (var (_, p) in parameters) p.grad = null;
    }

    public IEnumerable<KeyValuePair<string, Tensor>> State()
    {
        for (var i = 0; i < parameters.Count; i++)
            if (buffers[i] is { } b)
                yield return KeyValuePair.Create($"momentum_buffer.{parameters[i].Name}", b);
    }

    public void LoadState(IReadOnlyDictionary<string, Tensor> state, string source)
    {
        for (var i = 0; i < parameters.Count; i++)
        {
            buffers[i]?.Dispose();
            buffers[i] = state.TryGetValue($"momentum_buffer.{parameters[i].Name}", out var t) ? Checked(t, parameters[i], source) : null;
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

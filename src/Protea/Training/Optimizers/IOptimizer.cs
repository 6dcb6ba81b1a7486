using static TorchSharp.torch;

namespace Protea.Training.Optimizers;

/// <summary>
/// A parameter-update rule with PyTorch's semantics. Written here rather than using TorchSharp's
/// optimizers because those pass short-lived Scalars to native calls without keeping them alive,
/// so a garbage collection triggered by another thread can free one mid-call (seen as rare
/// "toFloat" failures in SGD.step); these hold every Scalar for the whole step. Their state is
/// plain named tensors, so checkpoints store it as safetensors.
/// </summary>
public interface IOptimizer : IDisposable
{
    /// <summary>One update with this step's learning rate and, for SGD, momentum (schedules change both).</summary>
    void Step(double learningRate, double momentum);

    /// <summary>Drops the gradients (set to none, as PyTorch's zero_grad(set_to_none=True)).</summary>
    void ZeroGrad();

    /// <summary>The optimizer state as named tensors (views of the live state, not copies).</summary>
    IEnumerable<KeyValuePair<string, Tensor>> State();

    /// <summary>Restores the state saved by <see cref="State"/>.</summary>
    void LoadState(IReadOnlyDictionary<string, Tensor> state, string source);
}

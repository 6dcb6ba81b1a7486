using Protea.Models;
using static TorchSharp.torch;

namespace Protea.Deploy;

/// <summary>Runs the TorchSharp model itself: eval mode, no gradients, <see cref="InputNormalization.Apply"/> on each batch.</summary>
public sealed class TorchEngine : IInferenceEngine
{
    private readonly ModelBundle bundle;
    private readonly bool ownsBundle;

    /// <remarks>
    /// Sets no process-wide state: TorchSharp's thread count belongs to the host, which sets it once
    /// (torch.set_num_threads) before opening engines.
    /// </remarks>
    public TorchEngine(ModelBundle bundle, bool ownsBundle = false)
    {
        this.bundle = bundle;
        this.ownsBundle = ownsBundle;
        bundle.Model.eval();
    }

    public static TorchEngine Open(string modelDir) => new(ModelBundle.Load(modelDir), ownsBundle: true);

    public string Name => "torch";

    public ModelDescription Description => bundle.Description;

    public InferenceOutput Run(Tensor rawBatch)
    {
        InferenceEngines.CheckBatch(Description, rawBatch);
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        var x = Description.Normalization.Apply(rawBatch);
        var (logits, embedding) = bundle.Model.ForwardBoth(x);
        return new InferenceOutput((int)rawBatch.shape[0], (int)logits.shape[1], (int)embedding.shape[1],
            logits.ToFloats(), embedding.ToFloats());
    }

    public void Dispose()
    {
        if (ownsBundle) bundle.Dispose();
    }
}

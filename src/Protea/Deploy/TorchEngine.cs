using Protea.Models;
using TorchSharp;
using static TorchSharp.torch;

namespace Protea.Deploy;

/// <summary>Runs the TorchSharp model itself: eval mode, no gradients, <see cref="InputNormalization.Apply"/> on each batch.</summary>
public sealed class TorchEngine : IInferenceEngine
{
    private readonly ModelBundle bundle;
    private readonly bool ownsBundle;

    /// <param name="threads">torch's intra-op threads, set process-wide as torch.set_num_threads does; 0 leaves the setting alone.</param>
    public TorchEngine(ModelBundle bundle, int threads = 0, bool ownsBundle = false)
    {
        InferenceEngines.CheckThreads(threads);
        this.bundle = bundle;
        this.ownsBundle = ownsBundle;
        if (threads > 0) torch.set_num_threads(threads);
        bundle.Model.eval();
    }

    public static TorchEngine Open(string modelDir, int threads = 0) => new(ModelBundle.Load(modelDir), threads, ownsBundle: true);

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
            logits.contiguous().data<float>().ToArray(), embedding.contiguous().data<float>().ToArray());
    }

    public void Dispose()
    {
        if (ownsBundle) bundle.Dispose();
    }
}

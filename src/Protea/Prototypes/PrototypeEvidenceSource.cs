using Microsoft.ML.OnnxRuntime;
using Protea.Models;
using Protea.Predictions;
using static TorchSharp.torch;

namespace Protea.Prototypes;

/// <summary>
/// A parts model's prototypes as <see cref="Prediction.Evidence"/>: the model folder is loaded once
/// (for its last layer, prototype sources and pictures); the similarity maps come from TorchSharp, or
/// from the export's "similarity_maps" output when <paramref name="onnx"/>, through one session kept open.
/// </summary>
public sealed class PrototypeEvidenceSource : IEvidenceSource
{
    private readonly ModelBundle bundle;
    private readonly InferenceSession? session;
    private readonly int top;

    public PrototypeEvidenceSource(string modelDir, bool onnx, int top = PrototypeExplainer.DefaultTop, int threads = 0)
    {
        if (top < 1) throw new ProteaException($"the number of prototypes to show must be at least 1, not {top}", "top");
        this.top = top;
        bundle = ModelBundle.Load(modelDir);
        try
        {
            PrototypeExplainer.HeadOf(bundle);
            session = onnx ? PrototypeExplainer.OpenSession(modelDir, bundle, threads) : null;
        }
        catch
        {
            bundle.Dispose();
            throw;
        }
    }

    /// <summary>The explanations themselves (with the input's pixels, for <see cref="PrototypePanel"/>).</summary>
    public IReadOnlyList<PrototypeExplanation> ExplainAll(Tensor inputs) =>
        session is null ? PrototypeExplainer.Explain(bundle, inputs, top) : PrototypeExplainer.ExplainOnnx(session, bundle, inputs, top);

    public IReadOnlyList<IReadOnlyList<Evidence>> Explain(Tensor inputs) => ExplainAll(inputs).Select(e => (IReadOnlyList<Evidence>)e.Top).ToArray();

    public void Dispose()
    {
        session?.Dispose();
        bundle.Dispose();
    }
}

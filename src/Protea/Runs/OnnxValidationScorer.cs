using Protea.Data;
using Protea.Deploy;
using Protea.Models;
using Protea.Training;

namespace Protea.Runs;

/// <summary>
/// Scores validation data with ONNX Runtime over an in-memory export of the current weights: it
/// runs the graph several times faster than TorchSharp at inference, and it is the engine the saved
/// model is deployed with. TorchSharp for an architecture or head with no export.
/// </summary>
public sealed class OnnxValidationScorer(int threads) : IValidationScorer
{
    private const int BatchSize = 1000;

    public float[] Logits(Classifier model, ModelDescription description, Dataset data)
    {
        model.eval();
        if (!OnnxExporter.CanExport(description))
            return ClassifierInference.Logits(model, description.Normalization, data, BatchSize);
        // Not disposed: a bundle owns its model, and this one is the live network.
        var live = new ModelBundle(description, model);
        using var engine = OnnxEngine.FromModel(live, threads);
        return InferenceEngines.RunAll(engine, data, BatchSize).Logits;
    }
}

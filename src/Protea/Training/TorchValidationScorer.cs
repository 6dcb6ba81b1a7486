using Protea.Data;
using Protea.Models;

namespace Protea.Training;

/// <summary>Validation through TorchSharp inference (eval mode, no grad, batches of 1,000).</summary>
public sealed class TorchValidationScorer : IValidationScorer
{
    public float[] Logits(Classifier model, ModelDescription description, Dataset data) =>
        ClassifierInference.Logits(model, description.Normalization, data);
}

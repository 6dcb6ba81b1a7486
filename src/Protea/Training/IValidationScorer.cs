using Protea.Data;
using Protea.Models;

namespace Protea.Training;

/// <summary>
/// Scores validation data after each epoch: logits [N, K], row-major, of the model as it trains
/// (described by <paramref name="description"/>, whose head is the one training). A host may
/// supply a faster engine (the CLI's training run scores through ONNX Runtime); the trainer's own
/// is <see cref="TorchValidationScorer"/>.
/// </summary>
public interface IValidationScorer
{
    float[] Logits(Classifier model, ModelDescription description, Dataset data);
}

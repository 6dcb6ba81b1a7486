using Protea.Models;
using static TorchSharp.torch;

namespace Protea.Training.Objectives;

/// <summary>
/// An objective with trainable weights of its own (a contrastive projection head). The trainer
/// calls <see cref="Attach"/> once the model is built, before the optimizer, and trains the
/// module's parameters with the run's learning rate and weight decay, as one more optimizer group
/// whose parameter names are prefixed by the objective's <see cref="IObjective.Name"/>. The module
/// is not part of the returned model (nor of model.safetensors or ONNX). A checkpoint holds its
/// optimizer state (as group "NAME.*") but not its weights: a resumed run re-creates it, so resume
/// is exact for cross-entropy runs and approximate for contrastive ones.
/// </summary>
public interface IObjectiveWithModule : IObjective
{
    /// <summary>Builds (or rebuilds) the objective's module for this model and returns it.</summary>
    nn.Module Attach(Classifier model);
}

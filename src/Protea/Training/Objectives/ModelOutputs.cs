using Protea.Models;
using static TorchSharp.torch;

namespace Protea.Training.Objectives;

/// <summary>
/// The model's outputs on a batch: logits always; the embedding and the feature map when an
/// objective needs them (else null); the outputs on the second view when one was asked for; and
/// the network that produced them, for costs on its own weights (ProtoPNet's last-layer L1).
/// </summary>
public sealed record ModelOutputs(Classifier Model, Tensor Logits, Tensor? Embedding = null, Tensor? FeatureMap = null, ModelOutputs? SecondView = null);

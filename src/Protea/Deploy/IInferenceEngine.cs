using Protea.Models;
using static TorchSharp.torch;

namespace Protea.Deploy;

/// <summary>Which engine runs a model: ONNX Runtime when a current export exists (Auto), or the one named.</summary>
public enum EngineChoice { Auto, Torch, Onnx }

/// <summary>
/// Runs a model on raw batches, as a <see cref="Protea.Data.Dataset"/> holds them (uint8 [N, C, H, W]
/// images or float32 [N, D] features); normalisation is the engine's job. Engines are interchangeable:
/// the same model gives the same predictions in each.
/// </summary>
public interface IInferenceEngine : IDisposable
{
    /// <summary>"torch" or "onnx", as <see cref="InferenceEngines.ParseChoice"/> names them.</summary>
    string Name { get; }

    ModelDescription Description { get; }

    InferenceOutput Run(Tensor rawBatch);
}

using static TorchSharp.torch;

namespace Protea.Predictions;

/// <summary>
/// Gives each input its <see cref="Prediction.Evidence"/>: a <see cref="Predictor"/> with one
/// (<see cref="Predictor.Evidence"/>) fills every prediction's evidence on either engine. Each kind of
/// evidence (prototypes, nearest training items, saliency) implements it in its own capability.
/// </summary>
public interface IEvidenceSource : IDisposable
{
    /// <summary>The evidence for each input, given as the predictor holds them (uint8 [N, C, H, W] images), in order.</summary>
    IReadOnlyList<IReadOnlyList<Evidence>> Explain(Tensor inputs);
}

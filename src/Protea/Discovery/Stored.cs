using static TorchSharp.torch;

namespace Protea.Discovery;

/// <summary>Reading a scorer's statistics back from unknown.safetensors.</summary>
internal static class Stored
{
    public static Tensor Take(IReadOnlyDictionary<string, Tensor> tensors, string name, string scorer) =>
        tensors.TryGetValue(name, out var t)
            ? t
            : throw new ProteaException($"{UnknownDetector.TensorsFile}: tensor '{name}' of the {scorer} scorer is missing; calibrate the model again");
}

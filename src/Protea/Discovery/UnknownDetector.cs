using System.Security.Cryptography;
using System.Text.Json;
using Protea.Deploy;
using Protea.IO;
using Protea.Models;

namespace Protea.Discovery;

/// <summary>
/// A calibrated unknown scorer: its scores and the threshold above which an input is called unknown.
/// Saved in a model folder as model.json's "unknown" section plus DIR/unknown.safetensors (the
/// scorer's statistics, when it has any); loaded with the model by <see cref="Predictions.Predictor"/>.
/// </summary>
public sealed class UnknownDetector(IUnknownScorer scorer, double threshold) : IDisposable
{
    public const string TensorsFile = "unknown.safetensors";

    /// <summary>The share of held-out known items a calibrated threshold keeps as known.</summary>
    public const double CalibrationTpr = 0.95;

    public IUnknownScorer Scorer { get; } = scorer;
    public double Threshold { get; } = threshold;

    public static string TensorsPath(string modelDir) => Path.Combine(modelDir, TensorsFile);

    /// <summary>The scores of <paramref name="output"/>'s examples and whether each is above the threshold.</summary>
    public (double Score, bool IsUnknown)[] Detect(InferenceOutput output) =>
        Scorer.Score(output).Select(s => (s, s > Threshold)).ToArray();

    /// <summary>
    /// The threshold at which <paramref name="tpr"/> of <paramref name="knownScores"/> are at or below it
    /// (the ⌈tpr·N⌉-th smallest known score), so those known items are kept as known.
    /// </summary>
    public static double ThresholdAt(IReadOnlyList<double> knownScores, double tpr = CalibrationTpr)
    {
        if (knownScores.Count == 0)
            throw new ProteaException("calibrating the unknown threshold needs held-out known items; none were given", "data");
        if (!(tpr > 0 && tpr <= 1)) throw new ArgumentOutOfRangeException(nameof(tpr));
        var sorted = knownScores.Order().ToArray();
        var index = Math.Clamp((int)Math.Ceiling(tpr * sorted.Length - 1e-9) - 1, 0, sorted.Length - 1);
        return sorted[index];
    }

    /// <summary>
    /// Writes the scorer's statistics to DIR/unknown.safetensors (removing an older one when it has none)
    /// and the "unknown" section into DIR/model.json, each atomically; the weights are not touched.
    /// </summary>
    public void Save(string modelDir, string? calibratedOn)
    {
        var description = ModelBundle.ReadDescription(modelDir);
        var path = TensorsPath(modelDir);
        string? sha = null;
        if (Scorer.Tensors.Count > 0)
        {
            SafeTensors.Write(path, Scorer.Tensors, new Dictionary<string, string> { ["scorer"] = Scorer.Name });
            sha = Sha256(path);
        }
        var section = new UnknownDescription(Scorer.Name, Threshold, CalibrationTpr, Scorer.Settings, sha, calibratedOn);
        AtomicFile.WriteAllText(ModelBundle.DescriptionPath(modelDir),
            JsonSerializer.Serialize(description with { Unknown = section }, ProteaJson.Options));
        if (sha is null && File.Exists(path)) File.Delete(path);
    }

    /// <summary>The detector saved in <paramref name="modelDir"/>, or null when the model has no "unknown" section.</summary>
    public static UnknownDetector? Load(string modelDir, ModelDescription description)
    {
        if (description.Unknown is not { } section) return null;
        var tensors = new Dictionary<string, TorchSharp.torch.Tensor>();
        if (section.TensorsSha256 is { } expected)
        {
            var path = TensorsPath(modelDir);
            if (!File.Exists(path))
                throw new ProteaException($"{path}: file not found; model.json's unknown scorer needs it (calibrate the model again)", "model");
            if (!string.Equals(Sha256(path), expected, StringComparison.OrdinalIgnoreCase))
                throw new ProteaException($"{path}: its SHA-256 differs from the one model.json recorded at calibration, so the file was damaged or replaced; calibrate the model again", "model");
            tensors = SafeTensors.Read(path);
        }
        try
        {
            return new UnknownDetector(UnknownScorers.Restore(section.Scorer, section.Settings, tensors), section.Threshold);
        }
        finally
        {
            foreach (var t in tensors.Values) t.Dispose();
        }
    }

    private static string Sha256(string path)
    {
        using var stream = File.OpenRead(path);
        return Convert.ToHexStringLower(SHA256.HashData(stream));
    }

    public void Dispose() => Scorer.Dispose();
}

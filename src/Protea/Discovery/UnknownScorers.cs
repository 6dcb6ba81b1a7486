using System.Text.Json.Nodes;
using Protea.Deploy;
using static TorchSharp.torch;

namespace Protea.Discovery;

/// <summary>The unknown scorers by name: fitting one on training outputs, and rebuilding one from model.json and unknown.safetensors.</summary>
public static class UnknownScorers
{
    /// <summary>The default: energy (T = 1), the usual best of the logit scorers; it needs no statistics and works with every head.</summary>
    public const string Default = EnergyScorer.ScorerName;

    public static IReadOnlyList<string> Names { get; } =
    [
        MspScorer.ScorerName, MaxLogitScorer.ScorerName, EnergyScorer.ScorerName,
        MahalanobisScorer.ScorerName, KnnScorer.ScorerName, PrototypeScorer.ScorerName,
    ];

    /// <summary>The scorer's name as <see cref="Names"/> spells it; a name it does not know is a user mistake.</summary>
    public static string Check(string? name)
    {
        var n = (name ?? Default).Trim().ToLowerInvariant().Replace('_', '-');
        return Names.Contains(n) ? n : throw new ProteaException($"unknown scorer '{name}' is not known; known: {string.Join(", ", Names)}", "scorer");
    }

    /// <summary>Fits the scorer <paramref name="name"/> on training outputs and their class indices (−1: unlabelled).</summary>
    public static IUnknownScorer Fit(string name, InferenceOutput train, IReadOnlyList<long> labels, UnknownScorerOptions? options = null)
    {
        var o = options ?? new UnknownScorerOptions();
        o.Check();
        return Check(name) switch
        {
            MspScorer.ScorerName => new MspScorer(),
            MaxLogitScorer.ScorerName => new MaxLogitScorer(),
            EnergyScorer.ScorerName => new EnergyScorer(o.Temperature),
            MahalanobisScorer.ScorerName => MahalanobisScorer.Fit(train, labels, o.Shrinkage),
            KnnScorer.ScorerName => KnnScorer.Fit(train, o.K, o.MaxStoredEmbeddings, o.Seed),
            _ => PrototypeScorer.Fit(train, labels),
        };
    }

    /// <summary>Rebuilds a saved scorer from its name, settings and statistics (the caller keeps ownership of <paramref name="tensors"/>).</summary>
    public static IUnknownScorer Restore(string name, JsonObject? settings, IReadOnlyDictionary<string, Tensor> tensors)
    {
        if (!Names.Contains(name))
            throw new ProteaException($"unknown scorer '{name}' in model.json is not one this Protea knows ({string.Join(", ", Names)}); upgrade Protea or calibrate again");
        return name switch
        {
            MspScorer.ScorerName => new MspScorer(),
            MaxLogitScorer.ScorerName => new MaxLogitScorer(),
            EnergyScorer.ScorerName => new EnergyScorer(settings?["temperature"]?.GetValue<double>() ?? 1),
            MahalanobisScorer.ScorerName => MahalanobisScorer.Restore(tensors, settings),
            KnnScorer.ScorerName => KnnScorer.Restore(tensors, settings),
            _ => PrototypeScorer.Restore(tensors),
        };
    }
}

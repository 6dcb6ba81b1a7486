namespace Protea.Predictions;

/// <summary>One class and the probability the model gives it.</summary>
public sealed record ClassProbability(string Class, double Probability);

/// <summary>
/// What a model says about one input: its most likely classes with probabilities (softmax of the
/// logits), the embedding the head saw, and slots that later capabilities fill. Hosts serialise it
/// (the CLI prints the input, class, probability and top-k; a web app may send all of it).
/// </summary>
/// <param name="Input">The input's name or id: a file path, an upload's name, "FILE row N" for a CSV row.</param>
/// <param name="Class">The most likely class (the first of <paramref name="Top"/>).</param>
/// <param name="Probability">Its probability.</param>
/// <param name="Top">The k most likely classes, most likely first (ties: the lower class index first).</param>
/// <param name="Embedding">The model's embedding of the input (what the head classifies).</param>
public sealed record Prediction(string Input, string Class, double Probability, IReadOnlyList<ClassProbability> Top, IReadOnlyList<float> Embedding)
{
    /// <summary>How unlike the known classes the input is (higher: more likely unknown); null until the model has an unknown scorer.</summary>
    public double? UnknownScore { get; init; }

    /// <summary>Whether <see cref="UnknownScore"/> passes the model's calibrated threshold; null until the model has an unknown scorer.</summary>
    public bool? IsUnknown { get; init; }

    /// <summary>Why the model chose <see cref="Class"/> (prototype patches, nearest training items, a saliency map); null when the model keeps none.</summary>
    public IReadOnlyList<Evidence>? Evidence { get; init; }
}

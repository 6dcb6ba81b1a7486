namespace Protea.Evaluation;

/// <summary>What a score matrix holds: raw logits (softmax is applied) or probabilities (used as given).</summary>
public enum ScoreKind { Logits, Probabilities }

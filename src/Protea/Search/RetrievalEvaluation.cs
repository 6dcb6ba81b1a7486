namespace Protea.Search;

/// <summary>How well a test set's queries find items of their own class in an index.</summary>
/// <param name="Queries">Labelled queries scored.</param>
/// <param name="RecallAtK">Recall@K for K = 1, 2, 4, 8 (fractions).</param>
/// <param name="MapAtR">mAP@R (Musgrave et al. 2020), a fraction.</param>
/// <param name="Data">The query data, as its spec names it.</param>
/// <param name="Split">"test" when the data has its own test split, else "all".</param>
public sealed record RetrievalEvaluation(int Queries, IReadOnlyDictionary<int, double> RecallAtK, double MapAtR, string Data, string Split);

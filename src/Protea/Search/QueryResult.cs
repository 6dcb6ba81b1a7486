namespace Protea.Search;

/// <summary>A query (a file, or a CSV row named "FILE row N") and its nearest indexed items, most similar first.</summary>
public sealed record QueryResult(string Query, IReadOnlyList<SearchHit> Hits);

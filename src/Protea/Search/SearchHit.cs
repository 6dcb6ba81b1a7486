namespace Protea.Search;

/// <summary>One indexed item found for a query.</summary>
/// <param name="Id">The item's id (an image's path relative to the data root, a CSV id or row, "train/12345" for Fashion-MNIST).</param>
/// <param name="Path">The item's file for image-folder data; null otherwise.</param>
/// <param name="Label">The item's class name; null when it is unlabelled.</param>
/// <param name="Similarity">Cosine similarity of the query's and the item's embeddings (-1..1).</param>
/// <param name="Item">The item's row in the index.</param>
public sealed record SearchHit(string Id, string? Path, string? Label, double Similarity, int Item);

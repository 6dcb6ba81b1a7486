namespace Protea.Data;

/// <summary>
/// A text column one-hot encoded before the network (model.json's "categorical"): its name and its
/// categories in encoding order, each becoming the 0/1 feature named <c>column=category</c>.
/// </summary>
public sealed record CategoricalColumn(string Column, IReadOnlyList<string> Categories);

namespace Protea.Data;

/// <summary>The three kinds of <c>--data</c> a <see cref="DataSpec"/> can name.</summary>
public enum DataSourceKind { FashionMnist, ImageFolder, Csv }

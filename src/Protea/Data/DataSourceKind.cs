namespace Protea.Data;

/// <summary>The three kinds of data source a <see cref="DataSpec"/> can name.</summary>
public enum DataSourceKind { FashionMnist, ImageFolder, Csv }

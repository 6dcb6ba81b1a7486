namespace Protea.Data;

/// <summary>What a <see cref="DataSpec"/> yields: training data and, when the source has one, its own test set.</summary>
public sealed record DataSplits(Dataset Train, Dataset? Test) : IDisposable
{
    public void Dispose()
    {
        Train.Dispose();
        Test?.Dispose();
    }
}

using Protea.Data;

namespace Protea.Incremental;

/// <summary>
/// A class-incremental learner: it learns one step's data, then predicts over every class seen so
/// far. Labels are class positions in the scenario's order (the classes of earlier steps first).
/// </summary>
public interface IIncrementalMethod : IDisposable
{
    string Name { get; }

    void Learn(IncrementalStep step);

    /// <summary>Predicted class positions of the raw inputs of <paramref name="test"/>.</summary>
    long[] Predict(Dataset test);
}

/// <summary>
/// One step: its index, its training data (the new classes' items; class names are every class seen
/// so far) and, for methods that retrain on everything (joint), the training data of every step so far.
/// </summary>
public sealed record IncrementalStep(int Index, Dataset Train, int OldClasses, Func<Dataset> AllSeen)
{
    public int SeenClasses => Train.ClassNames.Count;
    public IReadOnlyList<string> NewNames => Train.ClassNames.Skip(OldClasses).ToArray();
}

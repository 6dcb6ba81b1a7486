using Protea.Data;

namespace Protea.Incremental;

/// <summary>
/// A class-incremental scenario: a seeded order of a data set's classes cut into tasks (equal tasks,
/// "B0-IncN", or a base task of B classes then increments of N), optionally few-shot (K training
/// items per class after the base task, FSCIL). Labels in a scenario's data are positions in
/// <see cref="ClassOrder"/>, so the classes of task t follow those of every earlier task.
/// </summary>
public sealed record Scenario(IReadOnlyList<int> ClassOrder, IReadOnlyList<int> TaskSizes, int? Shots, int Seed)
{
    public int Tasks => TaskSizes.Count;

    /// <summary>Classes seen after step <paramref name="step"/>.</summary>
    public int SeenAfter(int step) => TaskSizes.Take(step + 1).Sum();

    /// <summary>The first class (position in the order) of task <paramref name="step"/>.</summary>
    public int FirstOf(int step) => TaskSizes.Take(step).Sum();

    /// <summary>The task a class position belongs to.</summary>
    public int TaskOf(long position)
    {
        var first = 0;
        for (var t = 0; t < Tasks; t++)
        {
            first += TaskSizes[t];
            if (position < first) return t;
        }
        throw new ArgumentOutOfRangeException(nameof(position));
    }

    /// <param name="tasks">Number of tasks; null: as many as the increments fill.</param>
    /// <param name="baseClasses">Classes in the first task; null: the same as every increment (B0-IncN).</param>
    /// <param name="increment">Classes per later task; null: the classes left divided evenly over the tasks.</param>
    /// <param name="shots">Training items per class after the base task (few-shot); null: all.</param>
    public static Scenario Build(int numClasses, int? tasks, int? baseClasses, int? increment, int? shots, int seed)
    {
        if (tasks is < 1) throw new ProteaException($"the number of tasks must be at least 1, not {tasks}", "tasks");
        if (baseClasses is < 1) throw new ProteaException($"the base task needs at least 1 class, not {baseClasses}", "base");
        if (increment is < 1) throw new ProteaException($"each increment needs at least 1 class, not {increment}", "increment");
        if (shots is < 1) throw new ProteaException($"few-shot steps need at least 1 item per class, not {shots}", "shots");
        int b, n, t;
        if (baseClasses is null)
        {
            t = tasks ?? (increment is { } i0 ? numClasses / i0 : 5);
            n = increment ?? numClasses / t;
            b = n;
        }
        else
        {
            b = baseClasses.Value;
            var rest = numClasses - b;
            t = tasks ?? (increment is { } i1 ? 1 + rest / i1 : 1);
            n = increment ?? (t > 1 ? rest / (t - 1) : 0);
        }
        if (n < 1 || b < 1)
            throw new ProteaException($"{numClasses} classes cannot be cut into {t} tasks", "tasks");
        var total = b + (long)n * (t - 1);
        if (total > numClasses)
            throw new ProteaException($"{t} tasks (a base of {b} classes, then {n} per task) need {total} classes; the data has {numClasses}", "tasks");
        if (b < 2)
            throw new ProteaException($"the first task needs at least 2 classes to train a classifier, not {b}", "base");
        var order = Enumerable.Range(0, numClasses).ToArray();
        new Random(seed).Shuffle(order);
        var sizes = new[] { b }.Concat(Enumerable.Repeat(n, t - 1)).ToArray();
        return new Scenario(order.Take((int)total).ToArray(), sizes, shots, seed);
    }

    /// <summary>"B0-Inc2 (5 tasks)", "B6-Inc1 5-shot (5 tasks)".</summary>
    public string Describe()
    {
        var b = TaskSizes[0];
        var n = Tasks > 1 ? TaskSizes[1] : 0;
        var name = b == n ? $"B0-Inc{n}" : $"B{b}-Inc{n}";
        return Shots is { } k ? $"{name} {k}-shot ({Tasks} tasks)" : $"{name} ({Tasks} tasks)";
    }

    /// <summary>The class names in scenario order, of the classes seen after <paramref name="step"/>.</summary>
    public IReadOnlyList<string> SeenNames(IReadOnlyList<string> dataClassNames, int step) =>
        ClassOrder.Take(SeenAfter(step)).Select(c => dataClassNames[c]).ToArray();

    /// <summary>
    /// Task <paramref name="step"/>'s training items (its classes only; K per class, seeded, on a
    /// few-shot step; at most <paramref name="perClass"/> per class when given), labelled by position,
    /// with the class names of every class seen so far.
    /// </summary>
    public Dataset TrainingData(Dataset train, int step, int? perClass = null)
    {
        var limit = step > 0 && Shots is { } k ? k : perClass;
        return Relabel(train, FirstOf(step), SeenAfter(step), SeenAfter(step), limit, Seed * 31 + step);
    }

    /// <summary>Test items of every class seen after <paramref name="step"/>, labelled by position.</summary>
    public Dataset TestData(Dataset test, int step, int? perClass = null) =>
        Relabel(test, 0, SeenAfter(step), SeenAfter(step), perClass, Seed * 31 + 1000 + step);

    /// <summary>Training items of every class seen after <paramref name="step"/> as each step saw them (joint training).</summary>
    public Dataset SeenTrainingData(Dataset train, int step, int? perClass = null)
    {
        var parts = new List<long>();
        var positionOf = PositionOf(train.ClassNames.Count);
        for (var s = 0; s <= step; s++)
        {
            var limit = s > 0 && Shots is { } k ? k : perClass;
            parts.AddRange(Rows(train, positionOf, FirstOf(s), SeenAfter(s), limit, Seed * 31 + s));
        }
        return Build(train, parts.Order().ToArray(), positionOf, SeenAfter(step));
    }

    private Dataset Relabel(Dataset data, int from, int to, int seen, int? perClass, int seed)
    {
        var positionOf = PositionOf(data.ClassNames.Count);
        return Build(data, Rows(data, positionOf, from, to, perClass, seed), positionOf, seen);
    }

    private int[] PositionOf(int numClasses)
    {
        var positionOf = Enumerable.Repeat(-1, numClasses).ToArray();
        for (var p = 0; p < ClassOrder.Count; p++) positionOf[ClassOrder[p]] = p;
        return positionOf;
    }

    /// <summary>Rows of classes at positions [from, to), at most <paramref name="perClass"/> per class (a seeded sample), in data order.</summary>
    private static long[] Rows(Dataset data, int[] positionOf, int from, int to, int? perClass, int seed)
    {
        var byClass = new Dictionary<int, List<long>>();
        for (var i = 0; i < data.Count; i++)
        {
            var label = data.Labels[i];
            if (label < 0 || label >= positionOf.Length) continue;
            var p = positionOf[label];
            if (p < from || p >= to) continue;
            if (!byClass.TryGetValue(p, out var list)) byClass[p] = list = [];
            list.Add(i);
        }
        var rows = new List<long>();
        var random = new Random(seed);
        foreach (var p in byClass.Keys.Order())
        {
            var list = byClass[p].ToArray();
            if (perClass is { } k && list.Length > k)
            {
                random.Shuffle(list);
                list = list.Take(k).ToArray();
            }
            rows.AddRange(list);
        }
        return rows.Order().ToArray();
    }

    private Dataset Build(Dataset data, long[] rows, int[] positionOf, int seen)
    {
        using var subset = data.Subset(rows);
        var labels = subset.Labels.Select(l => (long)positionOf[l]).ToArray();
        var names = ClassOrder.Take(seen).Select(c => data.ClassNames[c]).ToArray();
        return subset.Relabel(labels, names);
    }
}

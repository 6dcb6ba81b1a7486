using TorchSharp;
using static TorchSharp.torch;

namespace Protea.Training.Sampling;

/// <summary>
/// Class-balanced batches for metric learning (Hermans et al. 2017): each batch holds P distinct
/// classes with K items each. Over an epoch every class is drawn equally often (the P classes of
/// each batch are those drawn least so far, ties broken at random), and a class's items are taken
/// in a shuffled order, reshuffled when used up, so each item is seen about as often as its class
/// allows; a class with fewer than K items repeats some of them. An epoch has
/// max(1, count / (P x K)) batches, as many items as one pass over the data. Draws come from the
/// epoch's generator only.
/// </summary>
public sealed class PkBatchSampler : IBatchSampler
{
    public const int DefaultItemsPerClass = 4;

    public PkBatchSampler(int classesPerBatch, int itemsPerClass)
    {
        if (classesPerBatch < 2)
            throw new ProteaException($"a balanced batch needs at least 2 classes, not {classesPerBatch}", "classes_per_batch");
        if (itemsPerClass < 2)
            throw new ProteaException($"a balanced batch needs at least 2 items per class, not {itemsPerClass}", "items_per_class");
        (ClassesPerBatch, ItemsPerClass) = (classesPerBatch, itemsPerClass);
    }

    public int ClassesPerBatch { get; }

    public int ItemsPerClass { get; }

    public int BatchSize => ClassesPerBatch * ItemsPerClass;

    /// <summary>
    /// P and K from what was asked and the batch size: both given, as given; K only, P = batch / K;
    /// P only, K = batch / P; neither, P = min(classes, batch / 4) and K = batch / P. P is at most the
    /// number of classes (refused when asked for more).
    /// </summary>
    public static PkBatchSampler Resolve(int? classesPerBatch, int? itemsPerClass, int batchSize, int classCount)
    {
        if (classesPerBatch is { } asked && asked > classCount)
            throw new ProteaException($"{asked} classes per batch asked for, the training data has {classCount}", "classes_per_batch");
        int p, k;
        if (classesPerBatch is { } pp && itemsPerClass is { } kk) (p, k) = (pp, kk);
        else if (itemsPerClass is { } k1) (p, k) = (Math.Min(classCount, Math.Max(2, batchSize / Math.Max(k1, 1))), k1);
        else if (classesPerBatch is { } p1) (p, k) = (p1, Math.Max(2, batchSize / Math.Max(p1, 1)));
        else
        {
            p = Math.Min(classCount, Math.Max(2, batchSize / DefaultItemsPerClass));
            k = Math.Max(2, batchSize / p);
        }
        return new PkBatchSampler(p, k);
    }

    public int BatchCount(int count, int batchSize) => Math.Max(1, count / BatchSize);

    public IReadOnlyList<Tensor> Epoch(IReadOnlyList<long> labels, int batchSize, Generator generator)
    {
        var byClass = new SortedDictionary<long, List<long>>();
        for (var i = 0; i < labels.Count; i++)
        {
            if (!byClass.TryGetValue(labels[i], out var items)) byClass[labels[i]] = items = [];
            items.Add(i);
        }
        var classes = byClass.Keys.ToArray();
        if (classes.Length < ClassesPerBatch)
            throw new ProteaException($"{ClassesPerBatch} classes per batch asked for, the training data has {classes.Length}", "classes_per_batch");
        var queues = classes.Select(c => new ClassQueue(byClass[c])).ToArray();
        var drawn = new int[classes.Length];
        var batches = new List<Tensor>();
        var count = BatchCount(labels.Count, batchSize);
        for (var b = 0; b < count; b++)
        {
            using var ties = rand(classes.Length, dtype: float64, generator: generator);
            var tie = ties.data<double>().ToArray();
            var chosen = Enumerable.Range(0, classes.Length).OrderBy(c => drawn[c]).ThenBy(c => tie[c]).Take(ClassesPerBatch).ToArray();
            var index = new long[BatchSize];
            var at = 0;
            foreach (var c in chosen)
            {
                drawn[c]++;
                foreach (var item in queues[c].Take(ItemsPerClass, generator)) index[at++] = item;
            }
            batches.Add(tensor(index));
        }
        return batches;
    }

    /// <summary>A class's items in shuffled order, reshuffled when used up, without repeating an item within one take when the class has enough.</summary>
    private sealed class ClassQueue(List<long> items)
    {
        private long[] order = [];
        private int next;

        public long[] Take(int k, Generator generator)
        {
            var taken = new List<long>(k);
            while (taken.Count < k)
            {
                if (next == order.Length) Reshuffle(generator);
                var item = order[next++];
                if (taken.Count < items.Count && taken.Contains(item)) continue;
                taken.Add(item);
            }
            return [.. taken];
        }

        private void Reshuffle(Generator generator)
        {
            using var perm = randperm(items.Count, generator: generator);
            order = perm.data<long>().Select(i => items[(int)i]).ToArray();
            next = 0;
        }
    }
}

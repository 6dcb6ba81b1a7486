namespace Protea.Data;

/// <summary>
/// Holds out a seeded, class-stratified fraction of a data set for validation. It uses System.Random
/// with the seed (not torch's generator), so the split does not depend on, or disturb, torch's RNG state.
/// </summary>
public static class TrainValidationSplit
{
    /// <summary>
    /// Splits into train and validation subsets (each in original order). Each class gives
    /// <paramref name="validationFraction"/> of its examples, rounded so the total is right and no class loses
    /// its last training example. Unlabelled examples (-1) stay in train, unless nothing is labelled,
    /// in which case the split is a plain random one.
    /// </summary>
    public static (Dataset Train, Dataset Validation) Split(Dataset data, double validationFraction, int seed)
    {
        var (train, validation) = Indices(data.Labels, validationFraction, seed);
        var trainSet = data.Subset(train);
        try
        {
            return (trainSet, data.Subset(validation));
        }
        catch
        {
            trainSet.Dispose();
            throw;
        }
    }

    /// <summary>The row indices of <see cref="Split"/>, each array sorted ascending.</summary>
    public static (long[] Train, long[] Validation) Indices(IReadOnlyList<long> labels, double validationFraction, int seed)
    {
        if (!(validationFraction >= 0 && validationFraction < 1))
            throw new ProteaException($"validation fraction {validationFraction}: must be at least 0 and below 1", "validation_fraction");

        var random = new Random(seed);
        bool anyLabelled = labels.Any(l => l >= 0);
        // Groups in a fixed order (class index ascending) so the random draws are the same for the same seed.
        var groups = Enumerable.Range(0, labels.Count)
            .Where(i => !anyLabelled || labels[i] >= 0)
            .GroupBy(i => anyLabelled ? labels[i] : 0)
            .OrderBy(g => g.Key)
            .Select(g => g.ToArray())
            .ToList();

        int total = groups.Sum(g => g.Length);
        var quotas = Apportion(groups.Select(g => g.Length).ToArray(), (int)Math.Round(total * validationFraction, MidpointRounding.AwayFromZero), random);

        var validation = new List<long>();
        for (int g = 0; g < groups.Count; g++)
        {
            var members = groups[g];
            random.Shuffle(members);
            validation.AddRange(members.Take(quotas[g]).Select(i => (long)i));
        }
        validation.Sort();
        var held = new HashSet<long>(validation);
        var train = Enumerable.Range(0, labels.Count).Select(i => (long)i).Where(i => !held.Contains(i)).ToArray();
        return (train, validation.ToArray());
    }

    /// <summary>
    /// Largest-remainder apportionment of <paramref name="count"/> validation slots over groups in proportion
    /// to their sizes, capped at size - 1 so every class keeps a training example; ties broken at random.
    /// </summary>
    private static int[] Apportion(int[] sizes, int count, Random random)
    {
        long total = sizes.Sum(s => (long)s);
        var caps = sizes.Select(s => Math.Max(0, s - 1)).ToArray();
        if (total == 0) return new int[sizes.Length];
        var exact = sizes.Select(s => (double)count * s / total).ToArray();
        var quotas = exact.Select((e, g) => Math.Min((int)Math.Floor(e), caps[g])).ToArray();
        int left = count - quotas.Sum();
        var tieBreak = sizes.Select(_ => random.NextDouble()).ToArray();
        var order = Enumerable.Range(0, sizes.Length)
            .OrderByDescending(g => exact[g] - Math.Floor(exact[g]))
            .ThenBy(g => tieBreak[g])
            .ToList();
        // Hand out the remaining slots by largest remainder; a full pass without progress means every group is capped.
        while (left > 0)
        {
            bool gave = false;
            foreach (int g in order)
            {
                if (left == 0) break;
                if (quotas[g] < caps[g])
                {
                    quotas[g]++;
                    left--;
                    gave = true;
                }
            }
            if (!gave) break;
        }
        return quotas;
    }
}

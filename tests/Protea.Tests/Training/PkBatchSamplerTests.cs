using Protea.Training;
using Protea.Training.Objectives;
using Protea.Training.Sampling;
using TorchSharp;
using static TorchSharp.torch;

namespace Protea.Tests.Training;

public sealed class PkBatchSamplerTests
{
    private static long[][] Epoch(PkBatchSampler sampler, IReadOnlyList<long> labels, int seed)
    {
        using var generator = new Generator((ulong)seed);
        var plan = sampler.Epoch(labels, sampler.BatchSize, generator);
        try { return plan.Select(t => t.data<long>().ToArray()).ToArray(); }
        finally { foreach (var t in plan) t.Dispose(); }
    }

    [Fact]
    public void EachBatch_HoldsPClasses_TimesKDistinctItems_AndClassesAreCoveredEvenly()
    {
        // 7 classes of unequal sizes (5 to 29 items).
        var labels = Enumerable.Range(0, 7).SelectMany(c => Enumerable.Repeat((long)c, 5 + 4 * c)).ToArray();
        var sampler = new PkBatchSampler(3, 4);
        var batches = Epoch(sampler, labels, 11);
        Assert.Equal(sampler.BatchCount(labels.Length, 12), batches.Length);
        Assert.Equal(labels.Length / 12, batches.Length);
        var perClass = new int[7];
        foreach (var batch in batches)
        {
            Assert.Equal(12, batch.Length);
            Assert.Equal(12, batch.Distinct().Count());
            var groups = batch.GroupBy(i => labels[i]).ToArray();
            Assert.Equal(3, groups.Length);
            Assert.All(groups, g => Assert.Equal(4, g.Count()));
            foreach (var g in groups) perClass[g.Key]++;
        }
        Assert.True(perClass.Max() - perClass.Min() <= 1, $"classes drawn {string.Join(",", perClass)} times");
    }

    [Fact]
    public void IsSeeded_AndASmallClassRepeatsItems()
    {
        long[] labels = [0, 0, 1, 1, 1, 1, 1, 1, 2, 2, 2, 2, 2, 2];
        var sampler = new PkBatchSampler(2, 3);
        Assert.Equal(Epoch(sampler, labels, 5), Epoch(sampler, labels, 5));
        Assert.NotEqual(Epoch(sampler, labels, 5), Epoch(sampler, labels, 6));
        foreach (var batch in Epoch(sampler, labels, 5))
            Assert.All(batch.GroupBy(i => labels[i]), g => Assert.Equal(3, g.Count()));
    }

    [Fact]
    public void Resolve_FillsTheBatch_AndRefusesImpossibleShapes()
    {
        var auto = PkBatchSampler.Resolve(null, null, 128, 10);
        Assert.Equal((10, 12), (auto.ClassesPerBatch, auto.ItemsPerClass));
        Assert.Equal((32, 4), (PkBatchSampler.Resolve(null, null, 128, 100).ClassesPerBatch, PkBatchSampler.Resolve(null, null, 128, 100).ItemsPerClass));
        Assert.Equal(8, PkBatchSampler.Resolve(null, 8, 64, 20).ClassesPerBatch);
        Assert.Equal("classes_per_batch", Assert.Throws<ProteaException>(() => PkBatchSampler.Resolve(12, null, 128, 10)).Field);
        Assert.Equal("items_per_class", Assert.Throws<ProteaException>(() => new PkBatchSampler(4, 1)).Field);
    }

    [Fact]
    public void TripletObjectives_DefaultToPk_OthersToRandom()
    {
        var o = new TrainOptions { BatchSize = 64 };
        Assert.IsType<PkBatchSampler>(BatchSamplers.For(o, 10, ObjectiveList.Parse("triplet+ce")));
        Assert.IsType<PkBatchSampler>(BatchSamplers.For(o, 10, ObjectiveList.Parse("triplet:0.5+ce")));
        Assert.IsType<RandomBatchSampler>(BatchSamplers.For(o, 10, ObjectiveList.Parse("ce")));
        Assert.IsType<RandomBatchSampler>(BatchSamplers.For(o with { Sampler = "random" }, 10, ObjectiveList.Parse("triplet")));
        Assert.IsType<PkBatchSampler>(BatchSamplers.For(o with { Sampler = "pk" }, 10, ObjectiveList.Parse("ce")));
        Assert.Equal("sampler", Assert.Throws<ProteaException>(() => BatchSamplers.For(o with { Sampler = "stratified" }, 10, [])).Field);
    }
}

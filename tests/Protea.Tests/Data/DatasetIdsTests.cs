using Protea.Data;
using static TorchSharp.torch;

namespace Protea.Tests.Data;

/// <summary>Ids stay with their examples through every way a data set is cut.</summary>
public sealed class DatasetIdsTests
{
    /// <summary>Example i holds the value i and the id "r{i}": a subset keeps its ids right when each id still matches its row.</summary>
    private static Dataset Numbered(long[] labels) =>
        new(arange(labels.Length, dtype: ScalarType.Float32).reshape(-1, 1), labels, ["a", "b", "c"], InputKind.Tabular, "numbered",
            labels.Select((_, i) => $"r{i}").ToArray());

    private static int[] Rows(Dataset d) => d.Inputs.flatten().data<float>().ToArray().Select(v => (int)v).ToArray();

    private static void AssertIdsFollowRows(Dataset d) => Assert.Equal(Rows(d).Select(r => $"r{r}"), d.Ids);

    private static readonly long[] Labels = [0, 1, 2, 0, 1, 2, 0, 1, 2, 0, -1, 1, 0, 2, 2, 1, 0, 0, 1, -1];

    [Fact]
    public void DefaultIds_AreTheIndices()
    {
        using var data = new Dataset(zeros([3, 2]), [0, 0, 1], ["a", "b"], InputKind.Tabular, "x");
        Assert.Equal(["0", "1", "2"], data.Ids);
        Assert.Throws<ArgumentException>(() => new Dataset(zeros([3, 2]), [0, 0, 1], ["a", "b"], InputKind.Tabular, "x", ["only", "two"]));
    }

    [Fact]
    public void Subset_And_Take_KeepIdsWithTheirRows()
    {
        using var data = Numbered(Labels);
        using var subset = data.Subset([7, 2, 19, 2]);
        Assert.Equal(["r7", "r2", "r19", "r2"], subset.Ids);
        AssertIdsFollowRows(subset);
        Assert.Equal(new long[] { 1, 2, -1, 2 }, subset.Labels);

        using var first = data.Take(5);
        Assert.Equal(["r0", "r1", "r2", "r3", "r4"], first.Ids);
        AssertIdsFollowRows(first);
    }

    [Fact]
    public void TrainValidationSplit_KeepsIds_PartitioningThem()
    {
        using var data = Numbered(Labels);
        var (train, validation) = TrainValidationSplit.Split(data, 0.3, seed: 4);
        using (train)
        using (validation)
        {
            AssertIdsFollowRows(train);
            AssertIdsFollowRows(validation);
            Assert.Equal(5, validation.Count); // 30% of the 18 labelled examples, rounded
            Assert.Empty(train.Ids.Intersect(validation.Ids));
            Assert.Equal(data.Ids.Order(), train.Ids.Concat(validation.Ids).Order());
        }
    }

    [Fact]
    public void Sample_IsASeededSubsetInOriginalOrder_KeepingIds()
    {
        using var data = Numbered(Labels);
        using var a = data.Sample(8, seed: 3);
        using var again = data.Sample(8, seed: 3);
        using var other = data.Sample(8, seed: 4);
        Assert.Equal(8, a.Count);
        AssertIdsFollowRows(a);
        Assert.Equal(Rows(a).Order(), Rows(a)); // original order
        Assert.Equal(8, Rows(a).Distinct().Count());
        Assert.Equal(a.Ids, again.Ids);
        Assert.NotEqual(a.Ids, other.Ids);

        // The subset is the first `count` of a System.Random(seed) shuffle of 0..N-1 (what --limit always took).
        var order = Enumerable.Range(0, Labels.Length).ToArray();
        new Random(3).Shuffle(order);
        Assert.Equal(order.Take(8).Order(), Rows(a));

        using var all = data.Sample(100, seed: 0);
        Assert.Equal(data.Ids, all.Ids);
        var e = Assert.Throws<ProteaException>(() => data.Sample(0, seed: 0));
        Assert.Equal("limit", e.Field);
    }

    [Fact]
    public void SelectClasses_KeepsThoseClassesAndUnlabelled_RelabelledInClassListOrder()
    {
        using var data = Numbered(Labels);
        using var chosen = data.SelectClasses([0, 2]);
        Assert.Equal(["a", "c"], chosen.ClassNames);
        AssertIdsFollowRows(chosen);
        var expectedRows = Enumerable.Range(0, Labels.Length).Where(i => Labels[i] != 1).ToArray();
        Assert.Equal(expectedRows, Rows(chosen));
        Assert.Equal(expectedRows.Select(i => Labels[i] switch { 0 => 0L, 2 => 1L, _ => -1L }), chosen.Labels);
    }
}

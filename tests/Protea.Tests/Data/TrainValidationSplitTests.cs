using Protea.Data;
using static TorchSharp.torch;

namespace Protea.Tests.Data;

public sealed class TrainValidationSplitTests
{
    // Classes of 50, 30 and 20 examples interleaved, and 7 unlabelled ones at the end.
    private static long[] Labels() =>
        Enumerable.Range(0, 100).Select(i => i < 50 ? 0L : i < 80 ? 1L : 2L)
            .OrderBy(l => (l * 37) % 11).ThenBy(l => l)
            .Concat(Enumerable.Repeat(-1L, 7))
            .ToArray();

    [Fact]
    public void Indices_PartitionAllExamplesWithStratifiedValidation()
    {
        var labels = Labels();
        var (train, validation) = TrainValidationSplit.Indices(labels, 0.1, seed: 7);

        Assert.Equal(10, validation.Length);                       // round(0.1 * 100 labelled)
        Assert.Equal(97, train.Length);
        Assert.Empty(train.Intersect(validation));
        Assert.Equal(Enumerable.Range(0, labels.Length).Select(i => (long)i), train.Concat(validation).Order());
        Assert.DoesNotContain(validation, i => labels[i] < 0);    // unlabelled stay in train
        foreach (var (cls, size) in new[] { (0L, 50), (1L, 30), (2L, 20) })
            Assert.InRange(validation.Count(i => labels[i] == cls), 0.1 * size - 1, 0.1 * size + 1);
        Assert.Equal(validation.Order(), validation);
        Assert.Equal(train.Order(), train);
    }

    [Fact]
    public void Indices_SameSeedSameSplit_OtherSeedDifferent()
    {
        var labels = Labels();
        var a = TrainValidationSplit.Indices(labels, 0.2, seed: 1);
        var b = TrainValidationSplit.Indices(labels, 0.2, seed: 1);
        var c = TrainValidationSplit.Indices(labels, 0.2, seed: 2);
        Assert.Equal(a.Validation, b.Validation);
        Assert.Equal(a.Train, b.Train);
        Assert.NotEqual(a.Validation, c.Validation);
        Assert.Equal(a.Validation.Length, c.Validation.Length);
    }

    [Fact]
    public void Indices_DoNotDependOnTorchRandomState()
    {
        var labels = Labels();
        random.manual_seed(1);
        var a = TrainValidationSplit.Indices(labels, 0.3, seed: 5);
        random.manual_seed(999);
        using (var _ = rand(100)) { }
        var b = TrainValidationSplit.Indices(labels, 0.3, seed: 5);
        Assert.Equal(a.Validation, b.Validation);
    }

    [Fact]
    public void Indices_EveryClassKeepsATrainingExample()
    {
        long[] labels = [0, 1, 1, 2, 2, 2];
        var (train, validation) = TrainValidationSplit.Indices(labels, 0.5, seed: 3);
        Assert.Equal(3, validation.Length);
        foreach (var cls in new long[] { 0, 1, 2 })
            Assert.Contains(train, i => labels[i] == cls);
    }

    [Fact]
    public void Indices_AllUnlabelled_SplitsAtRandom()
    {
        var labels = Enumerable.Repeat(-1L, 40).ToArray();
        var (train, validation) = TrainValidationSplit.Indices(labels, 0.25, seed: 11);
        Assert.Equal(10, validation.Length);
        Assert.Equal(30, train.Length);
        Assert.NotEqual(Enumerable.Range(30, 10).Select(i => (long)i), validation); // not simply the tail
    }

    [Theory]
    [InlineData(-0.1)]
    [InlineData(1.0)]
    [InlineData(double.NaN)]
    public void Indices_FractionOutOfRange_IsAUserError(double fraction)
    {
        var e = Assert.Throws<ProteaException>(() => TrainValidationSplit.Indices([0, 1], fraction, seed: 0));
        Assert.Contains("validation fraction", e.Message);
    }

    [Fact]
    public void Split_SubsetsCarryTheSelectedRowsAndLabels()
    {
        var labels = Labels();
        // Row i holds the value i, so every row says where it came from.
        using var data = new Dataset(arange(labels.Length, dtype: ScalarType.Float32).reshape(-1, 1), labels, ["a", "b", "c"],
            InputKind.Tabular, "rows.csv");
        var (expectedTrain, expectedValidation) = TrainValidationSplit.Indices(labels, 0.1, seed: 4);

        var (train, validation) = TrainValidationSplit.Split(data, 0.1, seed: 4);
        using (train)
        using (validation)
        {
            Assert.Equal(expectedValidation.Select(i => (float)i), validation.Inputs.data<float>().ToArray());
            Assert.Equal(expectedTrain.Select(i => (float)i), train.Inputs.data<float>().ToArray());
            Assert.Equal(expectedValidation.Select(i => labels[i]), validation.Labels);
            Assert.Equal(data.ClassNames, validation.ClassNames);
            Assert.Equal("rows.csv", train.Source);
        }
    }
}

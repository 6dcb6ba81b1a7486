using Protea.Training.Sampling;
using TorchSharp;
using static TorchSharp.torch;

namespace Protea.Tests.Training;

public sealed class RandomBatchSamplerTests
{
    [Theory]
    [InlineData(64, 32, new[] { 32, 32 })]
    [InlineData(66, 32, new[] { 32, 34 })]
    [InlineData(80, 32, new[] { 32, 32, 16 })]
    [InlineData(79, 32, new[] { 32, 47 })]
    [InlineData(60000, 128, new[] { -468, 96 })]
    [InlineData(65, 32, new[] { 32, 33 })]
    [InlineData(5, 32, new[] { 5 })]
    [InlineData(2, 128, new[] { 2 })]
    [InlineData(33, 32, new[] { 33 })]
    public void Sizes_KeepEveryExample_AndMergeARemainderUnderHalfABatch(int count, int batchSize, int[] expected)
    {
        // A negative entry -k stands for k full batches.
        var sizes = expected.SelectMany(s => s < 0 ? Enumerable.Repeat(batchSize, -s) : [s]).ToArray();
        Assert.Equal(sizes, RandomBatchSampler.Sizes(count, batchSize));
        Assert.Equal(sizes.Length, new RandomBatchSampler().BatchCount(count, batchSize));
    }

    [Fact]
    public void Epoch_IsAPermutationDrawnFromTheGenerator()
    {
        var sampler = new RandomBatchSampler();
        var labels = new long[70];
        long[] Draw(ulong seed)
        {
            using var generator = new Generator(seed);
            var batches = sampler.Epoch(labels, 32, generator);
            Assert.Equal([32, 38], batches.Select(b => (int)b.shape[0]));
            var all = batches.SelectMany(b => b.data<long>().ToArray()).ToArray();
            foreach (var b in batches) b.Dispose();
            return all;
        }
        var a = Draw(7);
        Assert.Equal(Enumerable.Range(0, 70).Select(i => (long)i), a.Order());
        Assert.Equal(a, Draw(7));
        Assert.NotEqual(a, Draw(8));
        Assert.NotEqual(Enumerable.Range(0, 70).Select(i => (long)i), a);
    }
}

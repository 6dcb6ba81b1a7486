using Protea.Data;
using Protea.Deploy;
using Protea.Discovery;
using Protea.Models;
using static TorchSharp.torch;

namespace Protea.Tests.Clustering;

public sealed class GridEmbeddingsTests
{
    /// <summary>
    /// The oracle: adaptive average pooling's cells as PyTorch documents them, rows
    /// floor(i·h/G) .. ceil((i+1)·h/G) − 1 (cells overlap when h is not a multiple of G), the values laid
    /// out channel by channel, each channel's cells row by row.
    /// </summary>
    private static float[] Expected(float[,,,] map, int grid)
    {
        int n = map.GetLength(0), c = map.GetLength(1), h = map.GetLength(2), w = map.GetLength(3);
        var result = new List<float>();
        for (var item = 0; item < n; item++)
            for (var ch = 0; ch < c; ch++)
                for (var gy = 0; gy < grid; gy++)
                    for (var gx = 0; gx < grid; gx++)
                    {
                        int y0 = gy * h / grid, y1 = ((gy + 1) * h + grid - 1) / grid, x0 = gx * w / grid, x1 = ((gx + 1) * w + grid - 1) / grid;
                        double sum = 0;
                        for (var y = y0; y < y1; y++)
                            for (var x = x0; x < x1; x++) sum += map[item, ch, y, x];
                        result.Add((float)(sum / ((y1 - y0) * (x1 - x0))));
                    }
        return [.. result];
    }

    [Theory]
    [InlineData(7, 3)] // overlapping cells: rows 0-2, 2-4, 4-6
    [InlineData(4, 2)] // quadrants
    [InlineData(5, 1)] // the global mean
    public void Pool_averages_each_grid_cell_channel_by_channel(int side, int grid)
    {
        var random = new Random(side * 10 + grid);
        var map = new float[2, 3, side, side];
        var flat = new float[map.Length];
        for (var i = 0; i < flat.Length; i++) flat[i] = (float)(random.NextDouble() * 4 - 2);
        Buffer.BlockCopy(flat, 0, map, 0, flat.Length * sizeof(float));
        using var t = tensor(flat, [2, 3, side, side]);
        using var pooled = GridEmbeddings.Pool(t, grid);
        Assert.Equal([2, 3L * grid * grid], pooled.shape);
        var actual = pooled.contiguous().data<float>().ToArray();
        var expected = Expected(map, grid);
        for (var i = 0; i < expected.Length; i++) Assert.Equal(expected[i], actual[i], 1e-5);
    }

    [Fact]
    public void A_one_by_one_grid_gives_the_models_own_embedding()
    {
        var description = new ModelDescription
        {
            Architecture = "cnn", Head = "linear", InputKind = InputKind.Image, InputShape = [1, 12, 12],
            ClassNames = ["a", "b"], Normalization = new InputNormalization([0.5], [0.25], 1.0 / 255),
        };
        manual_seed(3);
        using var bundle = new ModelBundle(description, Architectures.Create(description));
        var generator = new Random(5);
        var pixels = new byte[10 * 144];
        generator.NextBytes(pixels);
        using var data = new Dataset(tensor(pixels, [10, 1, 12, 12]), new long[10], ["a", "b"], InputKind.Image, "test");
        using var engine = new TorchEngine(bundle);
        var own = InferenceEngines.RunAll(engine, data, batchSize: 4).Embeddings;
        using var grid1 = GridEmbeddings.Compute(bundle, data, 1, batchSize: 3);
        var mine = grid1.contiguous().data<float>().ToArray();
        Assert.Equal(own.Length, mine.Length);
        for (var i = 0; i < own.Length; i++) Assert.True(Math.Abs(own[i] - mine[i]) <= 1e-5 * Math.Max(1, Math.Abs(own[i])), $"{i}: {own[i]} vs {mine[i]}");

        // A 3x3 grid of the 3x3 map (12 → 6 → 3) keeps every cell: C·9 values, whose per-channel mean is the embedding.
        using var grid3 = GridEmbeddings.Compute(bundle, data, 3, batchSize: 4);
        Assert.Equal([10, 9 * own.Length / 10], grid3.shape);
        using var means = grid3.reshape(10, -1, 9).mean([2]);
        var m = means.contiguous().data<float>().ToArray();
        // float32 sums of different orders: within 1e-5 of the largest value.
        var tolerance = 1e-5 * own.Max(Math.Abs);
        for (var i = 0; i < own.Length; i++) Assert.True(Math.Abs(own[i] - m[i]) <= tolerance, $"{i}: {own[i]} vs {m[i]}");
    }

    [Fact]
    public void The_default_grid_is_three_for_image_backbones_and_one_for_tables()
    {
        Assert.Equal(GridEmbeddings.DefaultGrid, GridEmbeddings.For("cnn", null));
        Assert.Equal(GridEmbeddings.DefaultGrid, GridEmbeddings.For("resnet18", null));
        Assert.Equal(1, GridEmbeddings.For("mlp", null));
        Assert.Equal(2, GridEmbeddings.For("cnn", 2));
        Assert.Equal("pool_grid", Assert.Throws<ProteaException>(() => GridEmbeddings.For("mlp", 3)).Field);
        Assert.Equal("pool_grid", Assert.Throws<ProteaException>(() => GridEmbeddings.For("cnn", 0)).Field);
    }
}

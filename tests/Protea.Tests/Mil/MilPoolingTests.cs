using System.Globalization;
using Protea.Mil;
using Protea.Models;
using Protea.Tests.Support;
using TorchSharp;
using static TorchSharp.torch;

namespace Protea.Tests.Mil;

/// <summary>The pooling heads against Debian PyTorch on the same tensors, and bags of different sizes batched vs one at a time.</summary>
public sealed class MilPoolingTests
{
    private static readonly int[] Sizes = [3, 5, 1, 2];

    private const string Oracle = """
        import sys, json, torch
        import numpy as np
        t, _ = st_read(sys.argv[1])
        kind = sys.argv[2]
        sizes = json.loads(sys.argv[3])
        h = torch.tensor(t['instances'].copy())
        g = lambda n: torch.tensor(t[n].copy())
        bags, weights = [], []
        start = 0
        for n in sizes:
            x = h[start:start + n]
            start += n
            if kind == 'mean':
                a = torch.full((n,), 1.0 / n)
                z = x.mean(0)
            elif kind == 'max':
                z, idx = x.max(0)
                a = torch.bincount(idx, minlength=n).float() / x.shape[1]
            else:
                v = torch.tanh(torch.nn.functional.linear(x, g('attention_V.weight'), g('attention_V.bias')))
                if kind == 'gated-attention':
                    v = v * torch.sigmoid(torch.nn.functional.linear(x, g('attention_U.weight'), g('attention_U.bias')))
                s = torch.nn.functional.linear(v, g('attention_w.weight'), g('attention_w.bias'))[:, 0]
                a = torch.softmax(s, 0)
                z = (a[:, None] * x).sum(0)
            bags.append(z)
            weights.append(a)
        print(json.dumps({'bags': torch.stack(bags).double().tolist(), 'weights': torch.cat(weights).double().tolist()}))
        """;

    [Theory]
    [InlineData("mean")]
    [InlineData("max")]
    [InlineData("attention")]
    [InlineData("gated-attention")]
    public void Pooling_matches_pytorch_per_bag(string kind)
    {
        using var scope = NewDisposeScope();
        torch.manual_seed(7);
        const int d = 16;
        using var pooling = MilPoolings.All.Get(kind).Create(d);
        var instances = randn(Sizes.Sum(), d);
        using var dir = new TempDir();
        var path = dir.File("pool.safetensors");
        SafeTensors.Write(path, pooling.state_dict().Append(new("instances", instances)));
        var json = System.Text.Json.JsonDocument.Parse(Python.Run(SafeTensorsPy.Functions + "\n" + Oracle, path, kind, "[3,5,1,2]")).RootElement;
        using var segments = new BagSegments(Sizes);
        using var noGrad = no_grad();
        var pooled = pooling.forward(instances, segments);
        var bags = pooled.Bags.data<float>().ToArray();
        var weights = pooled.Weights.data<float>().ToArray();
        var expectedBags = json.GetProperty("bags").EnumerateArray().SelectMany(r => r.EnumerateArray().Select(v => v.GetDouble())).ToArray();
        var expectedWeights = json.GetProperty("weights").EnumerateArray().Select(v => v.GetDouble()).ToArray();
        Assert.Equal(expectedBags.Length, bags.Length);
        for (var i = 0; i < bags.Length; i++) Assert.Equal(expectedBags[i], bags[i], 1e-5);
        Assert.Equal(expectedWeights.Length, weights.Length);
        for (var i = 0; i < weights.Length; i++) Assert.Equal(expectedWeights[i], weights[i], 1e-5);
    }

    [Theory]
    [InlineData("mean")]
    [InlineData("max")]
    [InlineData("attention")]
    [InlineData("gated-attention")]
    public void Network_on_a_batch_of_bags_equals_one_bag_at_a_time(string kind)
    {
        using var scope = NewDisposeScope();
        torch.manual_seed(3);
        var encoder = new Classifier(new ReferenceCnn(1), new LinearHead(128, 2));
        using var network = new MilNetwork(encoder, MilPoolings.All.Get(kind).Create(128), 2);
        network.eval();
        using var noGrad = no_grad();
        var patches = randn(Sizes.Sum(), 1, 28, 28);
        using var segments = new BagSegments(Sizes);
        var batched = network.forward(patches, segments);
        for (int b = 0, start = 0; b < Sizes.Length; start += Sizes[b], b++)
        {
            using var one = new BagSegments([Sizes[b]]);
            var single = network.forward(patches.narrow(0, start, Sizes[b]), one);
            Assert.True(allclose(batched.BagLogits[b].unsqueeze(0), single.BagLogits, 1e-4, 1e-5), $"bag {b} logits differ");
            Assert.True(allclose(batched.Weights.narrow(0, start, Sizes[b]), single.Weights, 1e-4, 1e-6), $"bag {b} weights differ");
        }
        // Weights are a distribution within each bag.
        var w = batched.Weights.data<float>().ToArray();
        for (int b = 0, start = 0; b < Sizes.Length; start += Sizes[b], b++)
            Assert.Equal(1.0, w.Skip(start).Take(Sizes[b]).Sum(x => (double)x), 1e-5);
    }

    [Fact]
    public void Attention_follows_its_instances_when_the_bag_is_permuted()
    {
        using var scope = NewDisposeScope();
        torch.manual_seed(5);
        using var pooling = new GatedAttentionPooling(8);
        using var noGrad = no_grad();
        var x = randn(6, 8);
        var perm = tensor(new long[] { 4, 2, 0, 5, 1, 3 });
        using var segments = new BagSegments([6]);
        var a = pooling.forward(x, segments);
        var b = pooling.forward(x.index_select(0, perm), segments);
        Assert.True(allclose(a.Bags, b.Bags, 1e-5, 1e-6));
        Assert.True(allclose(a.Weights.index_select(0, perm), b.Weights, 1e-5, 1e-7));
    }
}

using System.Text.Json;
using Protea.Tests.Support;
using Protea.Training.Optimizers;
using Parameter = TorchSharp.Modules.Parameter;
using AdamW = Protea.Training.Optimizers.AdamW;
using static TorchSharp.torch;

namespace Protea.Tests.Training;

public sealed class OptimizerTests
{
    private const int Steps = 6;

    /// <summary>Runs both optimizers over the same parameters and gradient sequence as torch.optim in Debian PyTorch.</summary>
    [Theory]
    [InlineData("sgd")]
    [InlineData("sgd_plain")]
    [InlineData("adamw")]
    public void Updates_MatchTorchOptim(string kind)
    {
        var random = new Random(5);
        var init = Enumerable.Range(0, 12).Select(_ => random.NextDouble() * 2 - 1).ToArray();
        var grads = Enumerable.Range(0, Steps).Select(_ => Enumerable.Range(0, 12).Select(_ => random.NextDouble() * 2 - 1).ToArray()).ToArray();
        var lrs = Enumerable.Range(0, Steps).Select(i => 0.1 / (i + 1)).ToArray();
        var moms = Enumerable.Range(0, Steps).Select(i => 0.95 - 0.02 * i).ToArray();
        var script = """
            import json, sys, torch
            d = json.loads(open(sys.argv[1]).read())
            torch.set_default_dtype(torch.float64)
            p = torch.nn.Parameter(torch.tensor(d["init"]).reshape(3, 4))
            kind = d["kind"]
            if kind == "adamw":
                opt = torch.optim.AdamW([p], lr=0.1, weight_decay=0.01)
            else:
                opt = torch.optim.SGD([p], lr=0.1, momentum=0.9, weight_decay=5e-4 if kind == "sgd" else 0, nesterov=kind == "sgd")
            for g, lr, m in zip(d["grads"], d["lrs"], d["moms"]):
                opt.param_groups[0]["lr"] = lr
                if kind != "adamw": opt.param_groups[0]["momentum"] = m
                p.grad = torch.tensor(g).reshape(3, 4)
                opt.step()
            print(json.dumps(p.detach().reshape(-1).tolist()))
            """;
        using var dir = new TempDir();
        var input = dir.File("in.json");
        File.WriteAllText(input, JsonSerializer.Serialize(new { kind, init, grads, lrs, moms }));
        var expected = JsonSerializer.Deserialize<double[]>(Python.Run(script, input))!;

        using var p = new Parameter(tensor(init, float64).reshape(3, 4));
        using IOptimizer opt = kind == "adamw"
            ? new AdamW([("w", p)], weightDecay: 0.01)
            : new Sgd([("w", p)], weightDecay: kind == "sgd" ? 5e-4 : 0, nesterov: kind == "sgd");
        for (var s = 0; s < Steps; s++)
        {
            p.grad = tensor(grads[s], float64).reshape(3, 4);
            opt.Step(lrs[s], kind == "adamw" ? 0 : moms[s]);
        }
        var actual = p.detach().reshape(-1).data<double>().ToArray();
        for (var i = 0; i < 12; i++)
            Assert.Equal(expected[i], actual[i], 1e-12);
    }

    /// <summary>
    /// Two parameter groups, each with its own learning rate (a scale of the scheduled one) and weight
    /// decay, as torch.optim's param_groups: {"params": [a]} at the run's lr and decay, {"params": [b]}
    /// at a quarter of it with its own decay.
    /// </summary>
    [Theory]
    [InlineData("sgd")]
    [InlineData("adamw")]
    public void ParameterGroups_MatchTorchOptimParamGroups(string kind)
    {
        var random = new Random(11);
        double[] Draw(int n) => Enumerable.Range(0, n).Select(_ => random.NextDouble() * 2 - 1).ToArray();
        var initA = Draw(12);
        var initB = Draw(6);
        var grads = Enumerable.Range(0, Steps).Select(_ => (A: Draw(12), B: Draw(6))).ToArray();
        var lrs = Enumerable.Range(0, Steps).Select(i => 0.1 / (i + 1)).ToArray();
        var moms = Enumerable.Range(0, Steps).Select(i => 0.95 - 0.02 * i).ToArray();
        const double scaleB = 0.25;
        var (decayA, decayB) = kind == "adamw" ? (0.01, 0.2) : (5e-4, 0.1);
        var script = """
            import json, sys, torch
            d = json.loads(open(sys.argv[1]).read())
            torch.set_default_dtype(torch.float64)
            a = torch.nn.Parameter(torch.tensor(d["initA"]).reshape(3, 4))
            b = torch.nn.Parameter(torch.tensor(d["initB"]).reshape(2, 3))
            groups = [{"params": [a], "weight_decay": d["decayA"]}, {"params": [b], "weight_decay": d["decayB"]}]
            if d["kind"] == "adamw":
                opt = torch.optim.AdamW(groups, lr=0.1)
            else:
                opt = torch.optim.SGD(groups, lr=0.1, momentum=0.9, nesterov=True)
            for ga, gb, lr, m in zip(d["gradsA"], d["gradsB"], d["lrs"], d["moms"]):
                opt.param_groups[0]["lr"] = lr
                opt.param_groups[1]["lr"] = lr * d["scaleB"]
                if d["kind"] != "adamw":
                    for g in opt.param_groups: g["momentum"] = m
                a.grad = torch.tensor(ga).reshape(3, 4)
                b.grad = torch.tensor(gb).reshape(2, 3)
                opt.step()
            print(json.dumps(a.detach().reshape(-1).tolist() + b.detach().reshape(-1).tolist()))
            """;
        using var dir = new TempDir();
        var input = dir.File("in.json");
        File.WriteAllText(input, JsonSerializer.Serialize(new
        {
            kind, initA, initB, gradsA = grads.Select(g => g.A), gradsB = grads.Select(g => g.B), lrs, moms, scaleB, decayA, decayB,
        }));
        var expected = JsonSerializer.Deserialize<double[]>(Python.Run(script, input))!;

        using var a = new Parameter(tensor(initA, float64).reshape(3, 4));
        using var b = new Parameter(tensor(initB, float64).reshape(2, 3));
        OptimizerGroup[] groups = [new([("a", a)], decayA), new([("b", b)], decayB, scaleB)];
        using IOptimizer opt = kind == "adamw" ? new AdamW(groups) : new Sgd(groups, nesterov: true);
        for (var s = 0; s < Steps; s++)
        {
            a.grad = tensor(grads[s].A, float64).reshape(3, 4);
            b.grad = tensor(grads[s].B, float64).reshape(2, 3);
            opt.Step(lrs[s], kind == "adamw" ? 0 : moms[s]);
        }
        var actual = a.detach().reshape(-1).data<double>().ToArray().Concat(b.detach().reshape(-1).data<double>().ToArray()).ToArray();
        Assert.Equal(18, expected.Length);
        for (var i = 0; i < 18; i++)
            Assert.Equal(expected[i], actual[i], 1e-12);

        // The groups did differ: b stepped with a quarter of the learning rate, so a single group would not match.
        using var a1 = new Parameter(tensor(initA, float64).reshape(3, 4));
        using var b1 = new Parameter(tensor(initB, float64).reshape(2, 3));
        using IOptimizer single = kind == "adamw" ? new AdamW([("a", a1), ("b", b1)], decayA) : new Sgd([("a", a1), ("b", b1)], decayA, nesterov: true);
        for (var s = 0; s < Steps; s++)
        {
            a1.grad = tensor(grads[s].A, float64).reshape(3, 4);
            b1.grad = tensor(grads[s].B, float64).reshape(2, 3);
            single.Step(lrs[s], kind == "adamw" ? 0 : moms[s]);
        }
        Assert.True(TensorAssert.Identical(a, a1));
        Assert.False(b.allclose(b1, rtol: 1e-3, atol: 1e-6));
    }

    [Fact]
    public void State_RoundTripsThroughLoadState()
    {
        using var p = new Parameter(ones(2, 2));
        using var a = new AdamW([("w", p)], 0.01);
        p.grad = full(2, 2, 0.5);
        a.Step(0.1, 0);
        var saved = a.State().ToDictionary(kv => kv.Key, kv => kv.Value.clone());
        using var b = new AdamW([("w", p)], 0.01);
        b.LoadState(saved, "test");
        Assert.Equal(a.State().Select(kv => kv.Key), b.State().Select(kv => kv.Key));
        foreach (var (x, y) in a.State().Zip(b.State()))
            Assert.True(TensorAssert.Identical(x.Value, y.Value));
        var e = Assert.Throws<ProteaException>(void () => b.LoadState(new Dictionary<string, Tensor> { ["exp_avg.w"] = zeros(3) }, "opt.safetensors"));
        Assert.Contains("opt.safetensors", e.Message);
    }
}

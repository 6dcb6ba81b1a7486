using System.Globalization;
using Protea.Incremental;
using Protea.Tests.Support;
using static TorchSharp.torch;

namespace Protea.Tests.Incremental;

public class OracleTests
{
    private static string Csv(float[] values) => string.Join(",", values.Select(v => v.ToString("R", CultureInfo.InvariantCulture)));

    [Fact]
    public void Herding_selects_what_a_brute_force_mean_matching_oracle_selects()
    {
        var random = new Random(3);
        var values = Enumerable.Range(0, 9 * 4).Select(_ => (float)(random.NextDouble() * 2 - 1)).ToArray();
        using var x = tensor(values, [9, 4]);
        var ours = Herding.Select(x, 5);
        // Oracle in numpy: at each step try every remaining item and keep the one whose addition brings
        // the mean of the chosen (normalised) items closest to the class mean.
        var output = Python.Run("""
            import sys, numpy as np
            x = np.array([float(v) for v in sys.argv[1].split(',')]).reshape(9, 4)
            x = x / np.linalg.norm(x, axis=1, keepdims=True)
            mu = x.mean(0); chosen = []
            for k in range(1, 6):
                best = min((i for i in range(9) if i not in chosen), key=lambda i: np.sum((mu - x[chosen + [i]].mean(0)) ** 2))
                chosen.append(best)
            print(','.join(map(str, chosen)))
            """, Csv(values));
        Assert.Equal(output.Trim(), string.Join(",", ours));
        // And the first choice is the single item nearest the mean, by exhaustive search over singletons here.
        using var xn = nn.functional.normalize(x.to(float64), dim: 1);
        using var mu = xn.mean([0]);
        using var d = xn.sub(mu).square().sum(1);
        Assert.Equal(d.argmin().item<long>(), ours[0]);
        Assert.Equal(9, Herding.Select(x, 20).Distinct().Count());
    }

    [Fact]
    public void Distillation_loss_matches_pytorch_kl_div_formula()
    {
        var random = new Random(7);
        var s = Enumerable.Range(0, 4 * 3).Select(_ => (float)(random.NextDouble() * 6 - 3)).ToArray();
        var t = Enumerable.Range(0, 4 * 3).Select(_ => (float)(random.NextDouble() * 6 - 3)).ToArray();
        using var student = tensor(s, [4, 3]);
        using var teacher = tensor(t, [4, 3]);
        using var loss = Protea.Training.Objectives.DistillationObjective.Compute(student, teacher, 2.0);
        var expected = double.Parse(Python.Run("""
            import sys, torch, torch.nn.functional as F
            s = torch.tensor([float(v) for v in sys.argv[1].split(',')]).reshape(4, 3)
            t = torch.tensor([float(v) for v in sys.argv[2].split(',')]).reshape(4, 3)
            T = 2.0
            print(repr((F.kl_div(F.log_softmax(s / T, 1), F.softmax(t / T, 1), reduction='batchmean') * T * T).item()))
            """, Csv(s), Csv(t)), CultureInfo.InvariantCulture);
        Assert.Equal(expected, loss.item<float>(), 1e-5);
        Assert.True(expected > 0.01);
    }

    [Fact]
    public void Teen_calibration_matches_hand_computed_values()
    {
        using var old = tensor(new float[] { 1, 0, 0, 1 }, [2, 2]);
        using var fresh = tensor(new float[] { 1, 1 }, [1, 2]);
        using var calibrated = TeenCalibration.Calibrate(old, fresh, temperature: 2, alpha: 0.25);
        // cos with both old = 1/sqrt2: equal weights 0.5 -> weighted old = (0.5, 0.5); 0.25*(1,1) + 0.75*(0.5,0.5) = (0.625, 0.625).
        Assert.Equal([0.625f, 0.625f], calibrated.data<float>().ToArray());

        using var fresh2 = tensor(new float[] { 1, 0 }, [1, 2]);
        using var c2 = TeenCalibration.Calibrate(old, fresh2, temperature: 2, alpha: 0.5);
        // cos = (1, 0): w = softmax(2, 0) = (e^2, 1)/(e^2 + 1).
        var w0 = Math.Exp(2) / (Math.Exp(2) + 1);
        var v = c2.data<float>().ToArray();
        Assert.Equal(0.5 + 0.5 * w0, v[0], 1e-5);
        Assert.Equal(0.5 * (1 - w0), v[1], 1e-5);
        Assert.Throws<ProteaException>(() => TeenCalibration.Calibrate(old, fresh, 16, 1.5));
    }
}

using System.Text.Json;
using Protea.Training;
using Protea.Tests.Support;

namespace Protea.Tests.Training;

public sealed class LearningRateScheduleTests
{
    [Theory]
    [InlineData("onecycle")]
    [InlineData("cosine")]
    public void Schedule_MatchesPyTorchSchedulers(string kind)
    {
        const int steps = 97;
        var script = """
            import json, sys, torch
            kind, steps = sys.argv[1], int(sys.argv[2])
            p = torch.nn.Parameter(torch.zeros(1))
            opt = torch.optim.SGD([p], lr=0.1, momentum=0.9, nesterov=True)
            if kind == "onecycle":
                s = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=0.1, total_steps=steps)
            else:
                s = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=steps)
            lrs, moms = [], []
            for _ in range(steps):
                g = opt.param_groups[0]; lrs.append(g["lr"]); moms.append(g["momentum"])
                opt.step(); s.step()
            print(json.dumps({"lr": lrs, "momentum": moms}))
            """;
        using var doc = JsonDocument.Parse(Python.Run(script, kind, steps.ToString()));
        var expectedLr = doc.RootElement.GetProperty("lr").EnumerateArray().Select(e => e.GetDouble()).ToArray();
        var expectedMomentum = doc.RootElement.GetProperty("momentum").EnumerateArray().Select(e => e.GetDouble()).ToArray();

        var schedule = new LearningRateSchedule(kind, 0.1, steps);
        for (var step = 0; step < steps; step++)
        {
            Assert.Equal(expectedLr[step], schedule.LearningRate(step), 1e-10);
            if (schedule.CyclesMomentum)
                Assert.Equal(expectedMomentum[step], schedule.Momentum(step), 1e-10);
        }
    }

    [Fact]
    public void UnknownSchedule_IsABadInputError()
    {
        var e = Assert.Throws<ProteaException>(() => new LearningRateSchedule("linear", 0.1, 10));
        Assert.Equal("schedule", e.Field);
        Assert.Contains("'linear'", e.Message);
        Assert.Contains("onecycle", e.Message);
        Assert.DoesNotContain("--", e.Message);
    }
}

using System.Diagnostics;
using Protea.Models;
using TorchSharp;
using static TorchSharp.torch;

namespace Protea.Bench;

/// <summary>
/// A minimal reproduction for upstream reports and the guard's table in RESULTS.md: single TorchSharp
/// convolutions run channels-last and NCHW on the same data (forward, input and weight gradients),
/// their relative differences, the time of forward + backward in each layout, and what
/// <see cref="ConvLayoutGuard"/> decided. Covers the 1x1 configurations found wrong on an AVX-512
/// Zen 5 (issue 15) and every convolution the registered backbones use.
/// </summary>
public static class ConvLayoutReport
{
    public sealed record Row(string Config, double OutputError, double InputGradError, double WeightGradError,
        double ChannelsLastMs, double NchwMs, string GuardLayout);

    public sealed record Result(int Threads, int Batch, IReadOnlyList<Row> Rows, IReadOnlyList<string> NchwFallbacks);

    public static Result Measure(int threads, int batch = 32)
    {
        torch.set_num_threads(threads);
        // The process's policy: verified, then the faster layout by the per-machine measurement.
        var guard = new ConvLayoutGuard(timings: ConvLayoutTimings.ForThisMachine().For);
        var configs = new List<ConvConfig>();
        // The configurations reported wrong in channels-last on an AMD EPYC (family 26) with AVX-512.
        foreach (var side in new long[] { 4, 6, 8, 16 })
            configs.Add(new ConvConfig(256, 512, 1, 1, 2, 2, 0, 0, 1, 1, 1, side, side, ScalarType.Float32));
        configs.Add(new ConvConfig(256, 512, 1, 1, 1, 1, 0, 0, 1, 1, 1, 4, 4, ScalarType.Float32));
        configs.Add(new ConvConfig(512, 512, 1, 1, 2, 2, 0, 0, 1, 1, 1, 8, 8, ScalarType.Float32));
        // Every convolution of the registered image backbones at the sizes the CLI trains on.
        using (ConvLayoutGuard.Use(guard))
        using (no_grad())
        {
            foreach (var (backbone, size) in new (Backbone, int)[]
            {
                (new ReferenceCnn(1), 28), (new ResNet18(3, ResNetStem.Small), 32), (new ResNet18(3, ResNetStem.ImageNet), 64),
            })
            {
                using var _ = backbone;
                backbone.eval();
                using var x = randn(2, backbone is ReferenceCnn ? 1 : 3, size, size);
                backbone.FeatureMap(x).Dispose();
            }
        }
        configs.AddRange(guard.Decisions.Select(d => d.Config).Where(c => !configs.Contains(c)));
        var rows = configs.Select(c => Compare(c, batch, guard)).ToList();
        return new Result(threads, batch, rows, guard.NchwFallbacks);
    }

    private static Row Compare(ConvConfig c, int batch, ConvLayoutGuard guard)
    {
        using var scope = NewDisposeScope();
        using var generator = new Generator(1);
        var x = randn([batch, c.InChannels, c.Height, c.Width], generator: generator);
        var w = randn([c.OutChannels, c.InChannels / c.Groups, c.KernelH, c.KernelW], generator: generator).mul_(0.05);
        var g = randn(c.Apply(x, w).shape, generator: generator);
        var (yc, gxc, gwc) = Run(c, ChannelsLast.Convert(x), w, ChannelsLast.Convert(g));
        var (yn, gxn, gwn) = Run(c, x, w, g);
        var clMs = Time(() => Run(c, ChannelsLast.Convert(x), w, ChannelsLast.Convert(g)));
        var nchwMs = Time(() => Run(c, x, w, g));
        return new Row(c.ToString(), ConvLayoutGuard.RelativeDifference(yc, yn), ConvLayoutGuard.RelativeDifference(gxc, gxn),
            ConvLayoutGuard.RelativeDifference(gwc, gwn), clMs, nchwMs, guard.Decide(c).Layout.ToString());
    }

    private static (Tensor Y, Tensor GradInput, Tensor GradWeight) Run(ConvConfig c, Tensor x, Tensor w, Tensor gradOutput)
    {
        var input = x.detach().requires_grad_();
        var weight = w.detach().clone().requires_grad_();
        var y = c.Apply(input, weight);
        var grads = torch.autograd.grad([y], [input, weight], [gradOutput]);
        return (y.detach(), grads[0], grads[1]);
    }

    private static double Time(Action run, int repeats = 5)
    {
        { using var s = NewDisposeScope(); run(); }
        var watch = Stopwatch.StartNew();
        for (var i = 0; i < repeats; i++) { using var s = NewDisposeScope(); run(); }
        return watch.Elapsed.TotalMilliseconds / repeats;
    }
}

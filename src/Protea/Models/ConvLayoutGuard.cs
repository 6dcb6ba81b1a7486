using System.Collections.Concurrent;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Protea.Models;

/// <summary>
/// Runs each convolution in channels-last only where that layout has been verified on this CPU.
/// </summary>
/// <remarks>
/// oneDNN picks a different kernel per CPU ISA and problem shape, and some of its AVX-512 NHWC
/// kernels are wrong (measured: 1x1 convolutions to 512 channels on an AMD Zen 5 differ from NCHW by
/// 40-54 %). Rather than keep a list of today's bad kernels, the first time a process meets a
/// configuration (<see cref="ConvConfig"/>: channels, kernel, stride, padding, dilation, groups,
/// spatial size, dtype) the guard runs one small probe both ways, forward and backward (input and
/// weight gradients), and compares; on disagreement that configuration runs in NCHW for the rest of
/// the process and <see cref="Fallback"/> is raised once. The probe is a batch of
/// <see cref="ProbeBatch"/> random inputs: milliseconds per configuration. Where both layouts are
/// right, the process's guard also picks the faster by measurement (<see cref="ConvLayoutTimings"/>,
/// measured once per machine): NCHW when it is at least <see cref="NchwAdvantage"/> faster, e.g.
/// ResNet-18's 512-channel 3x3 convolutions on small maps. Decisions are facts about the CPU and
/// libtorch, so the guard is shared by the process; tests install their own with <see cref="Use"/>.
/// </remarks>
public sealed class ConvLayoutGuard
{
    /// <summary>Relative difference (max |a - b| / max |b|) above which the layouts disagree; float32 reorderings give ~1e-6.</summary>
    public const double Tolerance = 1e-3;

    public const int ProbeBatch = 4;

    /// <summary>NCHW is chosen for speed only when it takes at most this fraction of channels-last's time (timings are noisy).</summary>
    public const double NchwAdvantage = 0.8;

    /// <summary>
    /// "nchw": never use channels-last (to compare speed, or to rule the fast path out);
    /// "verified": channels-last wherever verified, without measuring; unset or "auto": verified, then measured.
    /// </summary>
    public const string EnvironmentVariable = "PROTEA_CONV_LAYOUT";

    private static readonly ConvLayoutGuard Process = FromEnvironment(Environment.GetEnvironmentVariable(EnvironmentVariable));
    private static readonly AsyncLocal<ConvLayoutGuard?> Scoped = new();

    private readonly ConcurrentDictionary<ConvConfig, ConvLayoutDecision> decisions = new();
    private readonly Func<Tensor, Tensor, double> difference;
    private readonly bool forceNchw;
    private readonly Func<ConvConfig, (double ChannelsLastMs, double NchwMs)>? timings;

    /// <param name="difference">How far apart a channels-last result is from the NCHW one (tests inject a disagreement).</param>
    /// <param name="forceNchw">Never use channels-last (the reference path).</param>
    /// <param name="timings">Where both layouts are right, how long each takes (null: channels-last without measuring).</param>
    public ConvLayoutGuard(Func<Tensor, Tensor, double>? difference = null, bool forceNchw = false,
        Func<ConvConfig, (double ChannelsLastMs, double NchwMs)>? timings = null)
    {
        this.difference = difference ?? RelativeDifference;
        this.forceNchw = forceNchw;
        this.timings = timings;
    }

    private static ConvLayoutGuard FromEnvironment(string? setting) => setting?.ToLowerInvariant() switch
    {
        "nchw" => new ConvLayoutGuard(forceNchw: true),
        "verified" => new ConvLayoutGuard(),
        _ => new ConvLayoutGuard(timings: ConvLayoutTimings.ForThisMachine().For),
    };

    /// <summary>The guard convolutions use now: the one installed by <see cref="Use"/> in this flow, else the process's.</summary>
    public static ConvLayoutGuard Current => Scoped.Value ?? Process;

    /// <summary>Installs <paramref name="guard"/> for the current flow until the result is disposed.</summary>
    public static IDisposable Use(ConvLayoutGuard guard)
    {
        var previous = Scoped.Value;
        Scoped.Value = guard;
        return new Restore(() => Scoped.Value = previous);
    }

    /// <summary>Raised once per configuration where channels-last was found wrong (hosts print it in verbose mode).</summary>
    public event Action<ConvLayoutDecision>? Fallback;

    /// <summary>Every configuration probed so far, in no particular order.</summary>
    public IReadOnlyList<ConvLayoutDecision> Decisions => decisions.Values.ToList();

    /// <summary>The configurations sent to NCHW because channels-last disagreed, as one line each.</summary>
    public IReadOnlyList<string> NchwFallbacks => decisions.Values.Where(d => !d.Verified).Select(d => d.Config.ToString()).Order().ToList();

    /// <summary>The configurations run in NCHW, though channels-last was right, because NCHW measured faster.</summary>
    public IReadOnlyList<string> NchwForSpeed => decisions.Values.Where(d => d.Verified && d.Layout == ConvLayout.Nchw).Select(d => d.Config.ToString()).Order().ToList();

    /// <summary>
    /// <paramref name="conv"/> applied to <paramref name="input"/> in the verified layout. A
    /// 1-channel input is layout-ambiguous (both layouts are the same memory): it runs as it is and its
    /// output is handed on channels-last.
    /// </summary>
    public Tensor Forward(Conv2d conv, Tensor input)
    {
        var output = Run(conv, input);
        return Tapped.Value is { } tap ? tap(conv, output) : output;
    }

    /// <summary>
    /// Hands every convolution's output in this flow to <paramref name="tap"/> (which returns the tensor
    /// to pass on) until the result is disposed: how explainers read and differentiate any layer's
    /// activation (Grad-CAM), since modules call their convolutions' forward directly and torch hooks never fire.
    /// </summary>
    public static IDisposable Tap(Func<Conv2d, Tensor, Tensor> tap)
    {
        var previous = Tapped.Value;
        Tapped.Value = tap;
        return new Restore(() => Tapped.Value = previous);
    }

    private static readonly AsyncLocal<Func<Conv2d, Tensor, Tensor>?> Tapped = new();

    private Tensor Run(Conv2d conv, Tensor input)
    {
        if (conv.in_channels == 1)
        {
            // A 1-channel input is the same memory in both layouts, so the convolution runs as it is
            // (NCHW, the reference path); its output is handed on channels-last, so the BatchNorm,
            // ReLU and pooling after it run in the fast layout too (measured: 5-8 % off a reference-cnn
            // training step). The copy is exact; later convolutions still choose their own layout.
            var y = conv.forward(input);
            if (forceNchw) return y;
            using (y) return ChannelsLast.Convert(y);
        }
        var layout = forceNchw ? ConvLayout.Nchw : Decide(ConvConfig.Of(conv, input)).Layout;
        var isChannelsLast = ChannelsLast.Is(input);
        if (layout == ConvLayout.ChannelsLast && !isChannelsLast)
        {
            using var converted = ChannelsLast.Convert(input);
            return conv.forward(converted);
        }
        if (layout == ConvLayout.Nchw && !input.is_contiguous())
        {
            using var contiguous = input.contiguous();
            return conv.forward(contiguous);
        }
        return conv.forward(input);
    }

    /// <summary>The decision for a configuration, probing it the first time.</summary>
    public ConvLayoutDecision Decide(ConvConfig config)
    {
        if (decisions.TryGetValue(config, out var known))
            return known;
        var decision = Probe(config);
        if (decisions.TryAdd(config, decision) && !decision.Verified)
            Fallback?.Invoke(decision);
        return decisions[config];
    }

    /// <summary>Forward and backward on random data in both layouts, compared.</summary>
    private ConvLayoutDecision Probe(ConvConfig c)
    {
        using var scope = NewDisposeScope();
        using var enableGrad = enable_grad();
        // A private generator: probing must not move the global RNG that seeded training relies on.
        using var generator = new Generator(0x5EED);
        var x = randn([ProbeBatch, c.InChannels, c.Height, c.Width], dtype: c.DType, generator: generator);
        var w = randn([c.OutChannels, c.InChannels / c.Groups, c.KernelH, c.KernelW], dtype: c.DType, generator: generator);
        var reference = Run(c, x, w, channelsLast: false, generator);
        var candidate = Run(c, x, w, channelsLast: true, generator);
        var output = difference(candidate.Output, reference.Output);
        var inputGrad = difference(candidate.InputGrad, reference.InputGrad);
        var weightGrad = difference(candidate.WeightGrad, reference.WeightGrad);
        var verified = output <= Tolerance && inputGrad <= Tolerance && weightGrad <= Tolerance;
        if (!verified)
            return new ConvLayoutDecision(c, ConvLayout.Nchw, false, output, inputGrad, weightGrad);
        if (timings is null)
            return new ConvLayoutDecision(c, ConvLayout.ChannelsLast, true, output, inputGrad, weightGrad);
        var (channelsLastMs, nchwMs) = timings(c);
        var layout = nchwMs <= NchwAdvantage * channelsLastMs ? ConvLayout.Nchw : ConvLayout.ChannelsLast;
        return new ConvLayoutDecision(c, layout, true, output, inputGrad, weightGrad) { ChannelsLastMs = channelsLastMs, NchwMs = nchwMs };
    }

    private static (Tensor Output, Tensor InputGrad, Tensor WeightGrad) Run(ConvConfig c, Tensor x, Tensor w, bool channelsLast, Generator generator)
    {
        var input = (channelsLast ? ChannelsLast.Convert(x) : x.clone()).requires_grad_();
        var weight = w.clone().requires_grad_();
        var y = c.Apply(input, weight);
        // The same upstream gradient both ways: a fresh generator state per layout would differ, so derive it from the output shape alone.
        using var gradGenerator = new Generator(0xB4C4);
        var gradOutput = randn(y.shape, dtype: y.dtype, generator: gradGenerator);
        if (channelsLast) gradOutput = ChannelsLast.Convert(gradOutput);
        var grads = autograd.grad([y], [input, weight], [gradOutput]);
        return (y.detach(), grads[0], grads[1]);
    }

    /// <summary>max |a - b| / max |b|, with 0 when both are zero.</summary>
    public static double RelativeDifference(Tensor a, Tensor b)
    {
        using var scope = NewDisposeScope();
        var scale = b.abs().max().to(float64).item<double>();
        var diff = (a - b).abs().max().to(float64).item<double>();
        return scale == 0 ? diff : diff / scale;
    }

    private sealed class Restore(Action restore) : IDisposable
    {
        public void Dispose() => restore();
    }
}

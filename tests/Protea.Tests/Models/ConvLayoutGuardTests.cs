using Protea.Models;
using Protea.Tests.Support;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Protea.Tests.Models;

/// <summary>
/// The channels-last fast path is only taken where it matches NCHW, forward and backward, on the CPU
/// the tests run on: these fail on any CPU where a configuration the backbones use is wrong and the
/// guard did not catch it.
/// </summary>
public sealed class ConvLayoutGuardTests
{
    /// <summary>Every backbone the registry builds, at the input sizes the CLI and tests use.</summary>
    public static TheoryData<string, int, int> Backbones => new()
    {
        { "cnn", 1, 28 }, { "cnn", 3, 32 },
        { "resnet18-small", 1, 28 }, { "resnet18-small", 3, 32 },
        { "resnet18-imagenet", 3, 64 }, { "resnet18-imagenet", 1, 32 }, { "resnet18-imagenet", 3, 224 },
    };

    private static Backbone Create(string name, int channels) => name switch
    {
        "cnn" => new ReferenceCnn(channels),
        "resnet18-small" => new ResNet18(channels, ResNetStem.Small),
        _ => new ResNet18(channels, ResNetStem.ImageNet),
    };

    [Theory]
    [MemberData(nameof(Backbones))]
    public void EveryConvolutionOfABackbone_ChosenLayoutMatchesNchw_ForwardAndBackward(string name, int channels, int size)
    {
        var guard = new ConvLayoutGuard();
        using var backbone = Create(name, channels);
        backbone.eval();
        using (ConvLayoutGuard.Use(guard))
        using (no_grad())
        using (var x = randn(2, channels, size, size))
            backbone.FeatureMap(x).Dispose();
        Assert.NotEmpty(guard.Decisions);

        // Re-check every decision at another batch size than the probe's, through the guard's own
        // Forward, against plain NCHW: output, input gradient and weight gradient.
        foreach (var decision in guard.Decisions)
        {
            using var scope = NewDisposeScope();
            var c = decision.Config;
            using var conv = nn.Conv2d(c.InChannels, c.OutChannels, (c.KernelH, c.KernelW), stride: (c.StrideH, c.StrideW),
                padding: (c.PadH, c.PadW), dilation: (c.DilationH, c.DilationW), groups: c.Groups, bias: false);
            var x = randn(16, c.InChannels, c.Height, c.Width);
            var (guarded, guardedInputGrad, guardedWeightGrad) = ForwardBackward(conv, x, t => guard.Forward(conv, t), channelsLastInput: true);
            var (reference, referenceInputGrad, referenceWeightGrad) = ForwardBackward(conv, x, conv.forward, channelsLastInput: false);
            Assert.True(ConvLayoutGuard.RelativeDifference(guarded, reference) < ConvLayoutGuard.Tolerance, $"{decision}: output");
            Assert.True(ConvLayoutGuard.RelativeDifference(guardedInputGrad, referenceInputGrad) < ConvLayoutGuard.Tolerance, $"{decision}: input gradient");
            Assert.True(ConvLayoutGuard.RelativeDifference(guardedWeightGrad, referenceWeightGrad) < ConvLayoutGuard.Tolerance, $"{decision}: weight gradient");
        }
    }

    /// <summary>The parts head's add-on (two 1x1 convolutions on the cnn's 7x7 map) goes through the guard, and what it decides matches NCHW.</summary>
    [Fact]
    public void PartsHeadAddOn_GoesThroughTheGuard_AndMatchesNchw()
    {
        var guard = new ConvLayoutGuard();
        using var head = PartsHead.PerClass(128, 10, 32, 2);
        head.eval();
        using var scope = NewDisposeScope();
        var map = ChannelsLast.Convert(randn(4, 128, 7, 7));
        Tensor guarded;
        using (ConvLayoutGuard.Use(guard))
        using (no_grad())
            guarded = head.Features(map).contiguous();
        Assert.Equal(2, guard.Decisions.Count);
        var state = head.state_dict();
        using (no_grad())
        {
            var x = nn.functional.relu(nn.functional.conv2d(map.contiguous(), state["add_on_1.weight"], state["add_on_1.bias"]));
            var reference = nn.functional.sigmoid(nn.functional.conv2d(x, state["add_on_2.weight"], state["add_on_2.bias"]));
            Assert.True(ConvLayoutGuard.RelativeDifference(guarded, reference) < ConvLayoutGuard.Tolerance);
        }
    }

    private static (Tensor Output, Tensor InputGrad, Tensor WeightGrad) ForwardBackward(Conv2d conv, Tensor x, Func<Tensor, Tensor> forward, bool channelsLastInput)
    {
        // The guarded path gets its input as it arrives inside a network (channels-last after the first layer).
        var input = (channelsLastInput ? ChannelsLast.Convert(x) : x.clone()).requires_grad_();
        conv.zero_grad();
        var y = forward(input);
        using var generator = new Generator(7);
        var gradOutput = randn(y.shape, generator: generator);
        y.backward([gradOutput]);
        return (y.detach().contiguous(), input.grad!.contiguous(), conv.weight!.grad!.clone());
    }

    /// <summary>
    /// Eval-mode logits of a whole network, guarded vs all-NCHW. (Train-mode gradients of a randomly
    /// initialised deep network are too ill-conditioned for a whole-network comparison: float32 NCHW
    /// itself differs from float64 by up to 4 % there; the per-convolution test above covers backward.)
    /// </summary>
    [Theory]
    [InlineData(ResNetStem.Small, 32)]
    [InlineData(ResNetStem.ImageNet, 64)]
    public void WholeResNet18_GuardedEqualsNchw(ResNetStem stem, int size)
    {
        using var model = new ResNet18(3, stem);
        model.eval();
        using var x = randn(8, 3, size, size);
        using var noGrad = no_grad();
        Tensor Features(ConvLayoutGuard guard)
        {
            using var _ = ConvLayoutGuard.Use(guard);
            return model.forward(x);
        }
        using var fast = Features(new ConvLayoutGuard());
        using var reference = Features(new ConvLayoutGuard(forceNchw: true));
        Assert.True(ConvLayoutGuard.RelativeDifference(fast, reference) < 1e-4);
    }

    [Fact]
    public void ProbeDisagreement_SendsTheConfigurationToNchw_AndReportsItOnce()
    {
        var reported = new List<ConvLayoutDecision>();
        var guard = new ConvLayoutGuard(difference: (_, _) => 0.5); // an injected comparison: channels-last "wrong" everywhere
        guard.Fallback += reported.Add;
        using var conv = nn.Conv2d(256, 512, 1, stride: 2, bias: false);
        using var x = ChannelsLast.Convert(randn(3, 256, 8, 8));

        using var first = guard.Forward(conv, x);
        using var second = guard.Forward(conv, x);

        Assert.True(first.is_contiguous(), "NCHW output expected after a fallback");
        using var contiguous = x.contiguous();
        using var reference = conv.forward(contiguous);
        Assert.True(ConvLayoutGuard.RelativeDifference(first, reference) < 1e-6);
        var decision = Assert.Single(reported);
        Assert.False(decision.Verified);
        Assert.Equal(ConvLayout.Nchw, decision.Layout);
        Assert.Equal(0.5, decision.OutputError);
        Assert.Equal(["conv 1x1 256->512 stride 2 pad 0 on 8x8 (float32)"], guard.NchwFallbacks);
    }

    [Theory]
    [InlineData(10.0, 5.0, ConvLayout.Nchw)]          // NCHW twice as fast: chosen
    [InlineData(10.0, 9.0, ConvLayout.ChannelsLast)]  // within the noise margin: channels-last stays
    [InlineData(5.0, 10.0, ConvLayout.ChannelsLast)]
    public void BothLayoutsRight_TheFasterIsChosen_WithoutCallingItAFallback(double channelsLastMs, double nchwMs, ConvLayout expected)
    {
        var reported = new List<ConvLayoutDecision>();
        var guard = new ConvLayoutGuard(timings: _ => (channelsLastMs, nchwMs));
        guard.Fallback += reported.Add;
        using var conv = nn.Conv2d(16, 16, 3, padding: 1, bias: false);
        using var x = ChannelsLast.Convert(randn(2, 16, 6, 6));
        using var y = guard.Forward(conv, x);

        var decision = Assert.Single(guard.Decisions);
        Assert.True(decision.Verified);
        Assert.Equal(expected, decision.Layout);
        Assert.Equal(expected == ConvLayout.ChannelsLast, ChannelsLast.Is(y));
        Assert.Empty(reported);
        Assert.Empty(guard.NchwFallbacks);
        Assert.Contains($"measured {channelsLastMs:F2} ms channels-last, {nchwMs:F2} ms NCHW", decision.ToString());
    }

    [Fact]
    public void Timings_AreCachedOnDisk_AndADamagedCacheIsMeasuredAgain()
    {
        using var dir = new TempDir();
        var path = dir.File("timings.json");
        var config = new ConvConfig(8, 8, 3, 3, 1, 1, 1, 1, 1, 1, 1, 6, 6, ScalarType.Float32);
        File.WriteAllText(path, $$"""{"{{config}} @ {{get_num_threads()}} threads": [7.5, 2.5]}""");
        Assert.Equal((7.5, 2.5), new ConvLayoutTimings(path).For(config)); // read, not measured

        File.WriteAllText(path, "{ not json");
        var measured = new ConvLayoutTimings(path).For(config);
        Assert.True(measured.ChannelsLastMs > 0 && measured.NchwMs > 0 && double.IsFinite(measured.ChannelsLastMs));
        Assert.Equal(measured, new ConvLayoutTimings(path).For(config)); // the rewritten file holds the measurement
    }

    [Fact]
    public void ProbeAgreement_KeepsChannelsLast()
    {
        var guard = new ConvLayoutGuard(difference: (_, _) => 0);
        using var conv = nn.Conv2d(32, 32, 3, padding: 1, bias: false);
        using var x = randn(2, 32, 10, 10);
        using var y = guard.Forward(conv, x);
        Assert.True(ChannelsLast.Is(y));
        Assert.Empty(guard.NchwFallbacks);
        Assert.Equal(ConvLayout.ChannelsLast, Assert.Single(guard.Decisions).Layout);
    }

    [Fact]
    public void Probing_DoesNotMoveTheGlobalRandomGenerator()
    {
        manual_seed(42);
        using var expected = randn(5);
        manual_seed(42);
        new ConvLayoutGuard().Decide(new ConvConfig(8, 16, 3, 3, 1, 1, 1, 1, 1, 1, 1, 5, 5, ScalarType.Float32));
        using var actual = randn(5);
        Assert.True(TensorAssert.Identical(actual, expected));
    }

    [Fact]
    public void ChannelsLastIs_TellsTheLayouts()
    {
        using var nchw = zeros(2, 3, 4, 5);
        using var nhwc = ChannelsLast.Convert(nchw);
        Assert.False(ChannelsLast.Is(nchw));
        Assert.True(ChannelsLast.Is(nhwc));
        
    }
}

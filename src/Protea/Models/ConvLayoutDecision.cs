namespace Protea.Models;

/// <summary>
/// What <see cref="ConvLayoutGuard"/> found for one convolution configuration: the largest relative
/// difference between channels-last and NCHW in the output and in both gradients, and the layout it
/// therefore uses. <see cref="Verified"/> false means channels-last was wrong on this CPU; a
/// verified configuration may still run NCHW when that measured faster (the timings are then set).
/// </summary>
public sealed record ConvLayoutDecision(ConvConfig Config, ConvLayout Layout, bool Verified, double OutputError, double InputGradError, double WeightGradError)
{
    /// <summary>Forward + backward time in each layout, when the layout was chosen by measurement.</summary>
    public double? ChannelsLastMs { get; init; }
    public double? NchwMs { get; init; }

    public override string ToString() => !Verified
        ? $"{Config}: channels-last disagrees with NCHW on this CPU (relative difference: output {OutputError:G2}, input gradient {InputGradError:G2}, weight gradient {WeightGradError:G2}); using NCHW"
        : $"{Config}: channels-last verified (max relative difference {Math.Max(OutputError, Math.Max(InputGradError, WeightGradError)):G2})"
          + (ChannelsLastMs is { } cl && NchwMs is { } nchw ? $"; measured {cl:F2} ms channels-last, {nchw:F2} ms NCHW: using {(Layout == ConvLayout.Nchw ? "NCHW" : "channels-last")}" : "");
}

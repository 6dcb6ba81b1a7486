using Protea.Models;
using TorchSharp;
using static TorchSharp.torch;

namespace Protea.Mil;

/// <summary>
/// Masked hard-instance mining (MHIM-MIL, Tang et al. 2023): an EMA teacher of the network scores each
/// bag's instances; the student also trains on a second view of every bag with the teacher's most
/// attended instances masked out, so it must find evidence beyond the easiest patch. The teacher
/// follows the student by an exponential moving average after each step and is never trained itself.
/// </summary>
public sealed class MaskedInstanceMining : IDisposable
{
    private readonly MilNetwork teacher;
    private readonly double momentum;
    private readonly double ratio;

    /// <param name="teacher">A network of the student's shape; its weights are overwritten with the student's.</param>
    public MaskedInstanceMining(MilNetwork student, MilNetwork teacher, double ratio, double momentum)
    {
        if (ratio is <= 0 or >= 1) throw new ProteaException($"masking ratio {ratio} must be between 0 and 1 (exclusive)", "mask_ratio");
        if (momentum is < 0 or >= 1) throw new ProteaException($"teacher momentum {momentum} must be in [0, 1)", "teacher_momentum");
        this.teacher = teacher;
        this.ratio = ratio;
        this.momentum = momentum;
        using var noGrad = no_grad();
        foreach (var ((_, t), (_, s)) in teacher.state_dict().Zip(student.state_dict())) t.copy_(s);
        foreach (var p in teacher.parameters()) p.requires_grad = false;
        teacher.eval();
    }

    /// <summary>The teacher's instance weights for a batch (no gradient, eval mode).</summary>
    public float[] TeacherWeights(Tensor patches, BagSegments segments)
    {
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        return teacher.forward(patches, segments).Weights.ToFloats();
    }

    /// <summary>
    /// The instances kept in the masked view: in each bag, all but its ⌊ratio·n⌋ most weighted (at
    /// least one kept), in their original order; and the masked bags' sizes.
    /// </summary>
    public static (long[] Keep, int[] Sizes) MaskedView(IReadOnlyList<float> weights, IReadOnlyList<int> sizes, double ratio)
    {
        var keep = new List<long>();
        var newSizes = new int[sizes.Count];
        for (int b = 0, start = 0; b < sizes.Count; start += sizes[b], b++)
        {
            var n = sizes[b];
            var masked = Math.Min((int)Math.Floor(ratio * n), n - 1);
            var drop = Enumerable.Range(start, n).OrderByDescending(i => weights[i]).ThenBy(i => i).Take(masked).ToHashSet();
            var kept = Enumerable.Range(start, n).Where(i => !drop.Contains(i)).Select(i => (long)i).ToList();
            keep.AddRange(kept);
            newSizes[b] = kept.Count;
        }
        return (keep.ToArray(), newSizes);
    }

    public double Ratio => ratio;

    /// <summary>teacher ← m·teacher + (1 − m)·student for parameters; buffers (BatchNorm statistics) copied.</summary>
    public void Update(MilNetwork student)
    {
        using var noGrad = no_grad();
        using var m = momentum.ToScalar();
        using var oneMinus = (1 - momentum).ToScalar();
        var studentParams = student.named_parameters().ToDictionary(p => p.name, p => p.parameter);
        foreach (var (name, t) in teacher.named_parameters())
            t.mul_(m).add_(studentParams[name], oneMinus);
        var studentBuffers = student.named_buffers().ToDictionary(b => b.name, b => b.buffer);
        foreach (var (name, t) in teacher.named_buffers())
            t.copy_(studentBuffers[name]);
    }

    public void Dispose() => teacher.Dispose();
}

using TorchSharp;
using static TorchSharp.torch;

namespace Protea.Training.Objectives;

/// <summary>
/// Knowledge distillation with soft targets (Hinton, Vinyals and Dean 2015):
/// T^2 * KL(softmax(teacher / T) || softmax(student / T)), averaged over the batch, times the
/// weight alpha; the hard-label term is cross-entropy with weight 1 - alpha, a separate objective
/// (<see cref="ForStudent"/> builds both). The T^2 keeps the soft term's gradients on the scale of
/// the hard term's as T changes. Mixed batches are fine: the teacher sees the same mixed inputs.
/// </summary>
public sealed class DistillationObjective : IObjective
{
    public const double DefaultTemperature = 4;
    public const double DefaultAlpha = 0.9;

    public DistillationObjective(Teacher teacher, double temperature = DefaultTemperature, double weight = DefaultAlpha)
    {
        if (!(temperature > 0) || !double.IsFinite(temperature))
            throw new ProteaException($"temperature {temperature} must be a positive number", "temperature");
        if (!(weight >= 0) || !double.IsFinite(weight))
            throw new ProteaException($"distillation weight {weight} must be a non-negative number", "alpha");
        (Teacher, Temperature, Weight) = (teacher, temperature, weight);
    }

    public Teacher Teacher { get; }

    public double Temperature { get; }

    public double Weight { get; }

    public string Name => "distill";

    public ObjectiveNeeds Needs => ObjectiveNeeds.Logits;

    public Tensor Loss(TrainingBatch batch, ModelOutputs outputs)
    {
        var loss = Compute(outputs.Logits, Teacher.Outputs(batch).Logits, Temperature);
        using var w = Weight.ToScalar();
        return loss.mul(w);
    }

    /// <summary>T^2 * KL(softmax(teacher/T) || softmax(student/T)), summed over classes, averaged over the batch.</summary>
    public static Tensor Compute(Tensor studentLogits, Tensor teacherLogits, double temperature)
    {
        using var scope = NewDisposeScope();
        using var inverseT = (1 / temperature).ToScalar();
        using var t2 = (temperature * temperature).ToScalar();
        var logStudent = nn.functional.log_softmax(studentLogits.mul(inverseT), 1);
        var logTeacher = nn.functional.log_softmax(teacherLogits.detach().mul(inverseT), 1);
        var kl = logTeacher.exp().mul(logTeacher.sub(logStudent)).sum(1).mean();
        return kl.mul(t2).MoveToOuterDisposeScope();
    }

    /// <summary>
    /// A student's loss: alpha x soft targets + (1 - alpha) x cross-entropy on the labels (with the
    /// label smoothing given), plus, with <paramref name="featureWeight"/> above 0, feature
    /// distillation through a learned projection.
    /// </summary>
    public static IReadOnlyList<IObjective> ForStudent(Teacher teacher, double temperature = DefaultTemperature, double alpha = DefaultAlpha,
        double featureWeight = 0, double labelSmoothing = 0)
    {
        if (!(alpha >= 0 && alpha <= 1))
            throw new ProteaException($"the soft-target weight {alpha} must be between 0 and 1", "alpha");
        List<IObjective> objectives = [new DistillationObjective(teacher, temperature, alpha)];
        if (alpha < 1) objectives.Add(new WeightedObjective(new CrossEntropyObjective(labelSmoothing), 1 - alpha));
        if (featureWeight > 0) objectives.Add(new FeatureDistillationObjective(teacher, featureWeight));
        // At alpha = 1 no term trains on the labels; the head still learns from the soft targets.
        return objectives;
    }
}

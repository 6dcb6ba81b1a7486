using Protea.Models;
using Protea.Training.Objectives;
using TorchSharp;
using static TorchSharp.torch;

namespace Protea.Incremental;

/// <summary>
/// Knowledge distillation on the old classes' logits (Hinton et al. 2015; LwF, iCaRL): the teacher
/// (the model before this step) and the student's first K logits are softened by the temperature T,
/// loss = T^2 KL(softmax(teacher/T) || softmax(student/T)) averaged over the batch, i.e. PyTorch's
/// <c>F.kl_div(F.log_softmax(s/T), F.softmax(t/T), reduction="batchmean") * T * T</c>, the same soft-target
/// loss a distilled student learns by (<see cref="DistillationObjective.Compute"/>).
/// </summary>
public sealed class OldClassDistillation(Classifier teacher, double temperature = 2.0, double weight = 1.0) : IObjective
{
    public string Name => "old-class-distillation";

    public ObjectiveNeeds Needs => ObjectiveNeeds.Logits;

    public Tensor Loss(TrainingBatch batch, ModelOutputs outputs)
    {
        Tensor old;
        using (no_grad()) old = teacher.forward(batch.Inputs);
        var student = outputs.Logits.narrow(1, 0, old.shape[1]);
        using var w = weight.ToScalar();
        return DistillationObjective.Compute(student, old, temperature).mul(w);
    }
}

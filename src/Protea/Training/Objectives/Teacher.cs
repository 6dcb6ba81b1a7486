using Protea.Models;
using static TorchSharp.torch;

namespace Protea.Training.Objectives;

/// <summary>
/// A frozen, saved model that a student learns from (<see cref="DistillationObjective"/>,
/// <see cref="FeatureDistillationObjective"/>). It runs in eval mode without gradient on the batch
/// the student sees, once per batch however many objectives ask (the outputs of the last batch are
/// kept, in that batch's DisposeScope). The student must normalise its inputs as the teacher does
/// (<see cref="Normalization"/>; the distillation run gives the student the teacher's statistics).
/// </summary>
public sealed class Teacher : IDisposable
{
    private Tensor? lastInputs;
    private (Tensor Logits, Tensor Embedding) last;

    /// <param name="bundle">The teacher; it is owned (disposed with this object).</param>
    public Teacher(ModelBundle bundle)
    {
        Bundle = bundle;
        foreach (var p in bundle.Model.parameters()) p.requires_grad_(false);
        bundle.Model.eval();
    }

    public ModelBundle Bundle { get; }

    public InputNormalization Normalization => Bundle.Description.Normalization;

    public long EmbeddingDim => Bundle.Model.Backbone.EmbeddingDim;

    /// <summary>The teacher's logits and embedding on the batch's inputs (computed once per batch).</summary>
    public (Tensor Logits, Tensor Embedding) Outputs(TrainingBatch batch)
    {
        if (ReferenceEquals(batch.Inputs, lastInputs)) return last;
        using (no_grad())
        {
            Bundle.Model.eval();
            last = Bundle.Model.ForwardBoth(batch.Inputs);
        }
        lastInputs = batch.Inputs;
        return last;
    }

    public void Dispose() => Bundle.Dispose();
}

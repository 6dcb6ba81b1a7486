using Protea.Models;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Protea.Training.Objectives;

/// <summary>
/// Feature distillation (a FitNets-style hint, Romero et al. 2015, on the pooled embedding): the
/// student's embedding goes through a learned linear projection to the teacher's embedding size,
/// and the loss is the mean squared distance between the L2-normalised projection and the
/// L2-normalised teacher embedding (in [0, 4] per item, so its scale does not depend on the
/// teacher's). The projection is the objective's own module, dropped after training.
/// </summary>
public sealed class FeatureDistillationObjective : IObjectiveWithModule
{
    private Linear? projection;

    public FeatureDistillationObjective(Teacher teacher, double weight = 1)
    {
        if (!(weight >= 0) || !double.IsFinite(weight))
            throw new ProteaException($"feature distillation weight {weight} must be a non-negative number", "feature_distill");
        (Teacher, Weight) = (teacher, weight);
    }

    public Teacher Teacher { get; }

    public double Weight { get; }

    public string Name => "feature_distill";

    public ObjectiveNeeds Needs => ObjectiveNeeds.Embedding;

    public Linear? Projection => projection;

    public nn.Module Attach(Classifier model)
    {
        projection?.Dispose();
        projection = nn.Linear(model.Backbone.EmbeddingDim, Teacher.EmbeddingDim);
        return projection;
    }

    public Tensor Loss(TrainingBatch batch, ModelOutputs outputs)
    {
        var head = projection ?? throw new InvalidOperationException("the feature distillation objective was not attached to a model");
        var embedding = outputs.Embedding ?? throw new InvalidOperationException("the trainer did not compute the embedding");
        var loss = Compute(head.forward(embedding), Teacher.Outputs(batch).Embedding);
        using var w = Weight.ToScalar();
        return loss.mul(w);
    }

    /// <summary>mean_i ||s_i/|s_i| - t_i/|t_i| ||^2 for projected student [N, D] and teacher [N, D] embeddings.</summary>
    public static Tensor Compute(Tensor projected, Tensor teacherEmbedding)
    {
        using var scope = NewDisposeScope();
        var s = nn.functional.normalize(projected, p: 2, dim: 1);
        var t = nn.functional.normalize(teacherEmbedding.detach(), p: 2, dim: 1);
        return s.sub(t).pow(2).sum(1).mean().MoveToOuterDisposeScope();
    }
}

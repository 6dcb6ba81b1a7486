using Protea.Models;
using Protea.Prototypes;
using TorchSharp;
using static TorchSharp.torch;

namespace Protea.Training.Objectives;

/// <summary>
/// ProtoPNet's cost terms beside cross-entropy (<see cref="PrototypeCosts"/>), each times its
/// coefficient, on the parts head's smallest distances (which the head's forward has already computed
/// for this batch's feature map). Zero-coefficient terms are not added.
/// </summary>
public static class PartsCosts
{
    public static IReadOnlyList<IObjective> For(TrainOptions options)
    {
        var o = options.Parts ?? new PartsOptions();
        var terms = new List<IObjective>();
        if (o.ClusterCost != 0) terms.Add(new ClusterCostObjective(o.ClusterCost));
        if (o.SeparationCost != 0) terms.Add(new SeparationCostObjective(o.SeparationCost));
        if (o.OrthogonalityCost != 0) terms.Add(new OrthogonalityObjective(o.OrthogonalityCost));
        if (o.L1Last != 0) terms.Add(new LastLayerL1Objective(o.L1Last));
        return terms;
    }

    internal static PartsHead Head(ModelOutputs outputs) => outputs.Model.Head as PartsHead
        ?? throw new InvalidOperationException($"a part-prototype cost needs the parts head, not '{outputs.Model.Head.Kind}'");

    internal static Tensor OwnClassMask(PartsHead head, Tensor labels)
    {
        using var identity = head.ClassIdentity();
        return identity.index_select(0, labels);
    }
}

/// <summary>Pulls each image's nearest own-class prototype close (coefficient 0.8 in the paper).</summary>
public sealed class ClusterCostObjective(double weight) : IObjective
{
    public string Name => "cluster_cost";
    public ObjectiveNeeds Needs => ObjectiveNeeds.FeatureMap;

    public Tensor Loss(TrainingBatch batch, ModelOutputs outputs)
    {
        var head = PartsCosts.Head(outputs);
        using var w = weight.ToScalar();
        return PrototypeCosts.Cluster(head.MinDistances(outputs.FeatureMap!), PartsCosts.OwnClassMask(head, batch.Labels), head.PrototypeDim).mul(w);
    }
}

/// <summary>Pushes other classes' prototypes away from each image (coefficient -0.08 in the paper).</summary>
public sealed class SeparationCostObjective(double weight) : IObjective
{
    public string Name => "separation_cost";
    public ObjectiveNeeds Needs => ObjectiveNeeds.FeatureMap;

    public Tensor Loss(TrainingBatch batch, ModelOutputs outputs)
    {
        var head = PartsCosts.Head(outputs);
        using var w = weight.ToScalar();
        return PrototypeCosts.Separation(head.MinDistances(outputs.FeatureMap!), PartsCosts.OwnClassMask(head, batch.Labels), head.PrototypeDim).mul(w);
    }
}

/// <summary>Keeps a class's prototypes apart from each other (off by default).</summary>
public sealed class OrthogonalityObjective(double weight) : IObjective
{
    public string Name => "orthogonality_cost";
    public ObjectiveNeeds Needs => ObjectiveNeeds.FeatureMap;

    public Tensor Loss(TrainingBatch batch, ModelOutputs outputs)
    {
        var head = PartsCosts.Head(outputs);
        using var w = weight.ToScalar();
        return PrototypeCosts.Orthogonality(head.PrototypeVectors, head.PrototypeClasses).mul(w);
    }
}

/// <summary>L1 on the last layer's wrong-class connections (1e-4 in the paper), so each class is explained by its own prototypes.</summary>
public sealed class LastLayerL1Objective(double weight) : IObjective
{
    public string Name => "last_layer_l1";
    public ObjectiveNeeds Needs => ObjectiveNeeds.FeatureMap;

    public Tensor Loss(TrainingBatch batch, ModelOutputs outputs)
    {
        var head = PartsCosts.Head(outputs);
        using var w = weight.ToScalar();
        using var identity = head.ClassIdentity();
        return PrototypeCosts.WrongClassL1(head.LastLayerWeight, identity).mul(w);
    }
}

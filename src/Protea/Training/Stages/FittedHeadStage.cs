using Protea.Models;

namespace Protea.Training.Stages;

/// <summary>
/// The stage of a head fitted from embeddings rather than learned (<see cref="HeadTraining.FittedFromEmbeddings"/>,
/// e.g. NCM): the backbone trains with the head the spec names in <see cref="HeadSpec.TrainsAs"/>
/// (NCM: cosine, whose geometry of angles between L2-normalised embeddings is the one class means
/// live in); after training, the head is created from the registry and fitted to the training
/// embeddings (<see cref="IFittedHead.Fit"/>).
/// </summary>
public sealed class FittedHeadStage(HeadSpec spec, string architecture) : IStage
{
    private const int EmbeddingBatchSize = 1000;

    public void BeforeTraining(StageContext context)
    {
        var model = context.Model;
        if (spec.TrainsAs is { } standIn && model.Head.Kind == spec.Name)
            context.Model = new Classifier(model.Backbone, Architectures.CreateHead(standIn, architecture, model.Backbone, model.Head.NumClasses));
    }

    public void AfterTraining(StageContext context)
    {
        var model = context.Model;
        var head = Architectures.CreateHead(spec.Name, architecture, model.Backbone, model.Head.NumClasses);
        using (var embeddings = ClassifierInference.Embeddings(model, context.Normalization, context.Train, EmbeddingBatchSize))
            ((IFittedHead)head).Fit(embeddings, context.Train.Labels);
        var fitted = new Classifier(model.Backbone, head);
        fitted.eval();
        context.Model = fitted;
    }
}

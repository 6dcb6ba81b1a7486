using Protea.Models;

namespace Protea.Training.Stages;

/// <summary>
/// The NCM head's stage. The backbone trains with a cosine head, whose geometry (angles between
/// L2-normalised embeddings) is the one class means live in; after training, the head becomes the
/// nearest class mean of the training embeddings (<see cref="NcmHead.Fit"/>).
/// </summary>
public sealed class NcmFitStage : IStage
{
    private const int EmbeddingBatchSize = 1000;

    public void BeforeTraining(StageContext context)
    {
        var model = context.Model;
        if (model.Head is NcmHead)
            context.Model = new Classifier(model.Backbone, Architectures.CreateHead("cosine", model.Backbone.EmbeddingDim, model.Head.NumClasses));
    }

    public void AfterTraining(StageContext context)
    {
        var model = context.Model;
        var ncm = new NcmHead(model.Backbone.EmbeddingDim, model.Head.NumClasses);
        using (var embeddings = ClassifierInference.Embeddings(model, context.Normalization, context.Train.Inputs, EmbeddingBatchSize))
            ncm.Fit(embeddings, context.Train.Labels);
        var fitted = new Classifier(model.Backbone, ncm);
        fitted.eval();
        context.Model = fitted;
    }
}

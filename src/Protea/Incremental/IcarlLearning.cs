using Protea.Data;
using Protea.Models;
using Protea.Predictions;
using Protea.Training;
using Protea.Training.Objectives;
using static TorchSharp.torch;

namespace Protea.Incremental;

/// <summary>
/// Adding classes to a saved model the iCaRL way (<c>learn-class --method icarl</c>), for when a few
/// new examples are not enough to place a class in a frozen embedding: the old classes' training data
/// is herded into an exemplar memory (a fixed total budget split evenly over every class after growing),
/// the grown model is fine-tuned on the new items plus the exemplars with cross-entropy and distillation
/// of the old model's logits, and an ncm or cosine head then takes each class's mean of exemplars
/// (nearest mean of exemplars, Rebuffi et al. 2017). Unlike ncm/teen, old classes' scores change, and a
/// kept training index (<c>--keep-index</c>) is dropped, its embeddings being the old backbone's.
/// </summary>
public sealed record IcarlLearning(Dataset OldData)
{
    /// <summary>Exemplars kept in all, split evenly over the old and new classes.</summary>
    public int Memory { get; init; } = 2000;
    public int Epochs { get; init; } = 4;
    public int BatchSize { get; init; } = 32;
    public double LearningRate { get; init; } = 0.01;
    public double DistillationTemperature { get; init; } = 2.0;
    public int Seed { get; init; }

    internal void Check(ModelDescription old)
    {
        if (Memory < 1) throw new ProteaException($"exemplar memory {Memory} must be at least 1", "memory");
        if (Epochs < 1) throw new ProteaException($"epochs {Epochs} must be at least 1", "epochs");
        if (BatchSize < 1) throw new ProteaException($"batch size {BatchSize} must be at least 1", "batch_size");
        if (LearningRate is <= 0 or > 10) throw new ProteaException($"learning rate {LearningRate} must be in (0, 10]", "learning_rate");
        if (!OldData.ExampleShape.SequenceEqual(old.InputShape))
            throw new ProteaException($"{OldData.Source}: examples have shape [{string.Join(", ", OldData.ExampleShape)}], the model takes [{string.Join(", ", old.InputShape)}]", "old_data");
    }

    /// <summary>The exemplars of the old classes, labelled by the model's class positions: herding on the old model's normalised embeddings.</summary>
    public Dataset Exemplars(ModelBundle old, IReadOnlyList<string> grownNames)
    {
        var labels = ModelInputs.MapLabels(OldData, old.Description);
        var perClass = Math.Max(1, Memory / grownNames.Count);
        var rows = new List<long>();
        using (var zn = TrainedMethod.NormalizedEmbeddings(old, OldData.Inputs))
            for (var c = 0; c < old.Description.NumClasses; c++)
            {
                var items = Enumerable.Range(0, labels.Length).Where(i => labels[i] == c).ToArray();
                if (items.Length == 0)
                    throw new ProteaException($"{OldData.Source}: has no items of the model's class '{old.Description.ClassNames[c]}'; iCaRL keeps exemplars of every old class", "old_data");
                using var index = tensor(items.Select(i => (long)i).ToArray());
                using var z = zn.index_select(0, index);
                rows.AddRange(Herding.Select(z, Math.Min(perClass, items.Length)).Select(o => (long)items[o]));
            }
        using var rowIndex = tensor(rows.ToArray());
        return new Dataset(OldData.Inputs.index_select(0, rowIndex), rows.Select(r => labels[r]).ToArray(), grownNames, OldData.Kind, $"{OldData.Source} (exemplars)",
            rows.Select(r => OldData.Ids[(int)r]).ToArray());
    }

    /// <summary>Fine-tunes <paramref name="grown"/> (its new classes labelled after the old ones in <paramref name="newData"/>) and returns the trained model.</summary>
    internal ModelBundle Learn(ModelBundle old, ModelBundle grown, Dataset newData, int oldClasses)
    {
        Check(old.Description);
        using var exemplars = Exemplars(old, grown.Description.ClassNames);
        // A head with prototypes starts the new classes at their means, so the first steps' logits make sense.
        if (grown.Model.Head is NcmHead or CosineHead)
            Prototypes.AddClasses(grown, newData, oldClasses, teen: false);
        using var train = DatasetConcat.Concat(newData, exemplars);
        var options = new TrainOptions
        {
            Architecture = grown.Description.Architecture,
            Head = grown.Description.Head,
            Epochs = Epochs,
            BatchSize = BatchSize,
            LearningRate = LearningRate,
            ValidationFraction = 0,
            Seed = Seed,
        };
        var trained = new Trainer(options)
        {
            StartFrom = grown,
            Objectives = [new CrossEntropyObjective(), new OldClassDistillation(old.Model, DistillationTemperature)],
            Stages = [],
        }.Train(train, null).Bundle;
        FitMeansOfExemplars(trained, train);
        // A kept training index holds the old backbone's embeddings: it no longer matches and is dropped.
        return new ModelBundle(trained.Description with { TrainingIndex = null }, trained.Model);
    }

    /// <summary>Nearest mean of exemplars: an ncm head takes each class's mean of normalised embeddings; a cosine head is imprinted with it; a linear head keeps what it learnt.</summary>
    private static void FitMeansOfExemplars(ModelBundle trained, Dataset train)
    {
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        switch (trained.Model.Head)
        {
            case NcmHead ncm:
                ncm.Fit(ClassifierInference.Embeddings(trained.Model, trained.Description.Normalization, train.Inputs), train.Labels);
                break;
            case CosineHead cosine:
                var zn = TrainedMethod.NormalizedEmbeddings(trained, train.Inputs);
                var means = Prototypes.ClassMeans(zn, train.Labels, (int)cosine.NumClasses);
                for (var c = 0; c < cosine.NumClasses; c++) cosine.Imprint(c, means[c]);
                break;
        }
    }
}

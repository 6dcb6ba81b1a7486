using Protea.Data;
using Protea.Models;
using Protea.Training;
using Protea.Training.Objectives;
using static TorchSharp.torch;

namespace Protea.Incremental;

/// <summary>What the gradient-trained methods share: the current model, training it fresh or from itself grown, and predicting by its logits.</summary>
public abstract class TrainedMethod(IncrementalOptions options) : IIncrementalMethod
{
    protected IncrementalOptions Options { get; } = options;

    /// <summary>The model after the last step; null before the first.</summary>
    public ModelBundle? Bundle { get; protected set; }

    public abstract string Name { get; }

    public abstract void Learn(IncrementalStep step);

    public virtual long[] Predict(Dataset test) => ArgMax(Bundle!, test);

    protected TrainOptions TrainOptions(string head, int step) => new()
    {
        Architecture = Options.Architecture,
        Head = head,
        Epochs = Options.Epochs,
        BatchSize = Options.BatchSize,
        LearningRate = Options.LearningRate,
        ValidationFraction = 0,
        Seed = Options.Seed * 101 + step,
    };

    /// <summary>A fresh network trained on <paramref name="data"/> (the first step, or joint's every step).</summary>
    protected ModelBundle TrainFresh(Dataset data, string head, int step) =>
        new Trainer(TrainOptions(head, step)).Train(data, null).Bundle;

    /// <summary>The current model grown by the step's new classes, trained on <paramref name="data"/> with <paramref name="objectives"/>.</summary>
    protected ModelBundle TrainGrown(IncrementalStep step, Dataset data, IReadOnlyList<IObjective> objectives)
    {
        using var grown = ModelGrowth.Grow(Bundle!, step.NewNames);
        var head = grown.Description.Head;
        return new Trainer(TrainOptions(head, step.Index)) { StartFrom = grown, Objectives = objectives, Stages = [] }.Train(data, null).Bundle;
    }

    protected void Replace(ModelBundle next)
    {
        Bundle?.Dispose();
        Bundle = next;
    }

    public static long[] ArgMax(ModelBundle bundle, Dataset test)
    {
        var k = (int)bundle.Model.Head.NumClasses;
        var logits = ClassifierInference.Logits(bundle.Model, bundle.Description.Normalization, test);
        var predicted = new long[test.Count];
        for (var i = 0; i < test.Count; i++)
        {
            var best = 0;
            for (var c = 1; c < k; c++) if (logits[i * k + c] > logits[i * k + best]) best = c;
            predicted[i] = best;
        }
        return predicted;
    }

    /// <summary>L2-normalised embeddings [N, D] of raw inputs.</summary>
    /// <summary>As <see cref="NormalizedEmbeddings(ModelBundle, Tensor)"/> over a data set held in memory or streamed (a batch read at a time).</summary>
    public static Tensor NormalizedEmbeddings(ModelBundle bundle, Dataset data)
    {
        using var z = ClassifierInference.Embeddings(bundle.Model, bundle.Description.Normalization, data);
        return nn.functional.normalize(z, dim: 1);
    }

    public static Tensor NormalizedEmbeddings(ModelBundle bundle, Tensor inputs)
    {
        using var z = ClassifierInference.Embeddings(bundle.Model, bundle.Description.Normalization, inputs);
        return nn.functional.normalize(z, dim: 1);
    }

    public virtual void Dispose()
    {
        Bundle?.Dispose();
        GC.SuppressFinalize(this);
    }
}

/// <summary>Lower bound: each step fine-tunes the grown model on the new classes' data alone (cross-entropy over every class seen).</summary>
public sealed class FinetuneMethod(IncrementalOptions options) : TrainedMethod(options)
{
    public override string Name => "finetune";

    public override void Learn(IncrementalStep step) =>
        Replace(step.Index == 0 ? TrainFresh(step.Train, "linear", 0) : TrainGrown(step, step.Train, [new CrossEntropyObjective()]));
}

/// <summary>Upper bound: each step trains a fresh network on the training data of every step so far.</summary>
public sealed class JointMethod(IncrementalOptions options) : TrainedMethod(options)
{
    public override string Name => "joint";

    public override void Learn(IncrementalStep step)
    {
        using var all = step.AllSeen();
        Replace(TrainFresh(all, "linear", step.Index));
    }
}

/// <summary>
/// Learning without Forgetting (Li &amp; Hoiem 2016), class-incremental: cross-entropy on the new data
/// over every class seen, plus distillation of the previous model's logits on the same inputs; no memory.
/// </summary>
public sealed class LwfMethod(IncrementalOptions options) : TrainedMethod(options)
{
    public override string Name => "lwf";

    public override void Learn(IncrementalStep step)
    {
        if (step.Index == 0)
        {
            Replace(TrainFresh(step.Train, "linear", 0));
            return;
        }
        using var teacher = ModelGrowth.Copy(Bundle!);
        Replace(TrainGrown(step, step.Train, [new CrossEntropyObjective(), new OldClassDistillation(teacher.Model, Options.DistillationTemperature)]));
    }
}

using System.Text.Json.Nodes;
using Protea.Deploy;
using static TorchSharp.torch;

namespace Protea.Models;

/// <summary>What a head reads from the backbone.</summary>
public enum Consumes
{
    /// <summary>The pooled embedding [N, D].</summary>
    Embedding,

    /// <summary>The backbone's spatial feature map [N, C, h, w] (part prototypes, attention pooling).</summary>
    FeatureMap,
}

/// <summary>How a head gets its parameters.</summary>
public enum HeadTraining
{
    /// <summary>Learned with the backbone by gradient descent.</summary>
    Gradient,

    /// <summary>Fitted from the embeddings of the training data after the backbone is trained (<see cref="IFittedHead"/>).</summary>
    FittedFromEmbeddings,
}

/// <summary>A head fitted from embeddings rather than learned by gradient (NCM: class means).</summary>
public interface IFittedHead
{
    /// <summary>Sets the head from embeddings [N, D] and their labels.</summary>
    void Fit(Tensor embeddings, long[] labels);
}

/// <summary>What a head factory gets.</summary>
/// <param name="EmbeddingDim">The size of the pooled embedding.</param>
/// <param name="Channels">The channels of the backbone's feature map (what a <see cref="Consumes.FeatureMap"/> head reads).</param>
/// <param name="Config">The head's own section of model.json (<see cref="HeadSpec.Describe"/>), or null for a new head.</param>
public sealed record HeadContext(long EmbeddingDim, long Channels, long NumClasses, JsonObject? Config = null)
{
    /// <summary>The size of each input vector the head sees: channels for a feature-map head, else the embedding size.</summary>
    public long InputDim(Consumes consumes) => consumes == Consumes.FeatureMap ? Channels : EmbeddingDim;
}

/// <summary>Adds a head to an ONNX graph: <paramref name="input"/> is the embedding or the feature map (as the head consumes), the result is named <paramref name="output"/>.</summary>
public delegate void HeadEmitter(OnnxGraph graph, Head head, string input, string output);

/// <summary>
/// Everything Protea knows about one head, declared beside its module (e.g. <c>CosineHead.Spec</c>)
/// and registered in <see cref="Registry"/>. A new head is one file (module + spec) and one line there.
/// </summary>
public sealed record HeadSpec(string Name, Consumes Consumes, Func<HeadContext, Head> Create) : IComponentSpec
{
    public HeadTraining Training { get; init; } = HeadTraining.Gradient;

    /// <summary>The head the backbone trains with before this one is fitted (NCM trains as cosine); null: itself.</summary>
    public string? TrainsAs { get; init; }

    /// <summary>Emits the head as ONNX nodes, or null: no ONNX export (the torch engine serves it).</summary>
    public HeadEmitter? Emit { get; init; }

    /// <summary>The head's own section of model.json, given back to <see cref="Create"/> on load; null writes none.</summary>
    public Func<Head, JsonObject?>? Describe { get; init; }

    /// <summary>Loss terms the head adds to the run's objectives (the parts head's cluster and separation costs); null: none.</summary>
    public Func<Protea.Training.TrainOptions, IReadOnlyList<Protea.Training.Objectives.IObjective>>? Objectives { get; init; }

    /// <summary>Optimizer groups for the head's own parameters (the parts head's prototypes learn at their own rate), after the caller's groups; null: none.</summary>
    public Func<Protea.Training.TrainOptions, IReadOnlyList<Protea.Training.ParameterGroup>>? ParameterGroups { get; init; }

    /// <summary>Learner stages the head brings (the parts head's warm-up, push and last layer); null: none.</summary>
    public Func<IReadOnlyList<Protea.Training.Stages.IStage>>? Stages { get; init; }

    /// <summary>Writes the head's own files into a model folder when the model is saved (the parts head's prototype pictures); null: none.</summary>
    public Action<Head, string>? SaveFiles { get; init; }

    /// <summary>Reads (and checks) the head's own files from a model folder after its weights are loaded; null: none.</summary>
    public Action<Head, string>? LoadFiles { get; init; }

    /// <summary>A new head's section of model.json from the training options (the parts head's prototype counts), given to <see cref="Create"/>; null: none.</summary>
    public Func<Protea.Training.TrainOptions, JsonObject?>? Configure { get; init; }
}

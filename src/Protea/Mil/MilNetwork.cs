using Protea.Models;
using TorchSharp;
using static TorchSharp.torch;
using TorchSharp.Modules;
using static TorchSharp.torch.nn;

namespace Protea.Mil;

/// <summary>What a <see cref="MilNetwork"/> computes for a batch of bags.</summary>
/// <param name="BagLogits">[B, K].</param>
/// <param name="InstanceLogits">[N, K], the instance-level branch (the encoder's own head).</param>
/// <param name="Weights">[N], each instance's weight in its bag (see <see cref="PooledBags"/>).</param>
/// <param name="BagEmbeddings">[B, D].</param>
public sealed record MilOutputs(Tensor BagLogits, Tensor InstanceLogits, Tensor Weights, Tensor BagEmbeddings);

/// <summary>
/// Attention-based deep MIL (Ilse et al. 2018): a patch encoder (any registered image backbone plus a
/// linear head: the instance-level branch) embeds each patch; a <see cref="MilPooling"/> turns each bag's
/// embeddings into one bag embedding; a linear classifier gives the bag logits. The encoder is a plain
/// <see cref="Classifier"/> so it saves, exports to ONNX and runs on the fast engine like any model.
/// </summary>
public sealed class MilNetwork : Module<Tensor, BagSegments, MilOutputs>
{
    private readonly Classifier encoder;
    private readonly MilPooling pooling;
    private readonly Linear classifier;

    public MilNetwork(Classifier encoder, MilPooling pooling, long numClasses) : base("mil")
    {
        this.encoder = encoder;
        this.pooling = pooling;
        classifier = Linear(encoder.Backbone.EmbeddingDim, numClasses);
        RegisterComponents();
    }

    public Classifier Encoder => encoder;
    public MilPooling Pooling => pooling;

    /// <summary>The parts saved beside the encoder (mil.safetensors): pooling and bag classifier.</summary>
    public IEnumerable<KeyValuePair<string, Tensor>> BagState() =>
        state_dict().Where(kv => !kv.Key.StartsWith("encoder.", StringComparison.Ordinal));

    /// <summary>Normalised patches [N, C, P, P] of the bags <paramref name="segments"/> lays out -> bag and instance outputs.</summary>
    public override MilOutputs forward(Tensor patches, BagSegments segments)
    {
        var (instanceLogits, embeddings) = encoder.ForwardBoth(patches);
        return Pool(embeddings, instanceLogits, segments);
    }

    /// <summary>The bag half alone, from instance embeddings [N, D] an engine already computed.</summary>
    public MilOutputs Pool(Tensor embeddings, Tensor instanceLogits, BagSegments segments)
    {
        var pooled = pooling.forward(embeddings, segments);
        return new MilOutputs(classifier.forward(pooled.Bags), instanceLogits, pooled.Weights, pooled.Bags);
    }
}

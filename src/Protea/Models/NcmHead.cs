using Protea.Deploy;
using TorchSharp;
using static TorchSharp.torch;

namespace Protea.Models;

/// <summary>
/// Nearest class mean (Mensink et al. 2013; iCaRL): one prototype per class, the mean of its
/// L2-normalised training embeddings. logits_k = -t * ||normalize(z) - mu_k||^2 with a fixed
/// temperature t, so softmax gives calibrated-ish probabilities and argmax is the nearest mean.
/// Fitted from embeddings, not by gradient descent; new classes are new means. The backbone trains with
/// a cosine head, whose geometry (angles between L2-normalised embeddings) is the one class means live in.
/// </summary>
public sealed class NcmHead : Head, IFittedHead, IGrowableHead
{
    public static readonly HeadSpec Spec = new("ncm", Consumes.Embedding, ctx => new NcmHead(ctx.EmbeddingDim, ctx.NumClasses))
    {
        Training = HeadTraining.FittedFromEmbeddings,
        TrainsAs = "cosine",
        Emit = (g, head, input, output) => ((NcmHead)head).Emit(g, input, output),
    };

    private readonly Tensor prototypes;
    private readonly Tensor temperature;

    public NcmHead(long embeddingDim, long numClasses, double temperature = 10.0) : base("head")
    {
        prototypes = zeros(numClasses, embeddingDim);
        this.temperature = tensor(new[] { (float)temperature });
        register_buffer("prototypes", prototypes);
        register_buffer("temperature", this.temperature);
    }

    public override string Kind => Spec.Name;
    public override long NumClasses => prototypes.shape[0];
    public override long EmbeddingDim => prototypes.shape[1];
    public override bool IsTrainable => false;

    /// <summary>The class means [K, D].</summary>
    public Tensor Prototypes => prototypes;

    /// <summary>Sets each class mean from embeddings [N, D] and labels; a class with no examples keeps its mean.</summary>
    public void Fit(Tensor embeddings, long[] labels)
    {
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        var zn = nn.functional.normalize(embeddings.to(float32), dim: 1);
        using var y = tensor(labels);
        // Scalars held for the call: TorchSharp frees a temporary one whenever the GC finalises it.
        using var one = 1.ToScalar();
        using var zero = 0.ToScalar();
        var k = NumClasses;
        var sums = zeros(k, EmbeddingDim).index_add_(0, y, zn, one);
        var counts = zeros(k).index_add_(0, y, ones(labels.Length), one);
        var present = counts.gt(zero).unsqueeze(1);
        var means = sums / counts.clamp_min(one).unsqueeze(1);
        prototypes.copy_(where(present, means, prototypes));
    }

    /// <summary>The same prototypes and temperature for the old classes; new classes' prototypes are zero until fitted.</summary>
    public Head Grow(long added)
    {
        var grown = new NcmHead(EmbeddingDim, NumClasses + added);
        using var noGrad = no_grad();
        grown.prototypes.narrow(0, 0, NumClasses).copy_(prototypes);
        grown.temperature.copy_(temperature);
        return grown;
    }

    public override Tensor forward(Tensor z)
    {
        using var scope = NewDisposeScope();
        var zn = nn.functional.normalize(z, dim: 1);
        using var one = 1.ToScalar();
        using var minusTwo = (-2).ToScalar();
        // ||a - b||^2 = |a|^2 - 2 a.b + |b|^2, with |a| = 1.
        var d2 = zn.matmul(prototypes.t()).mul(minusTwo).add(one).add(prototypes.square().sum(1).unsqueeze(0));
        return (-temperature * d2).MoveToOuterDisposeScope();
    }

    /// <summary>
    /// -t ||zn - mu_k||^2 = -t (1 - 2 zn.mu_k + |mu_k|^2) = (2t) zn.mu_k + (-t (1 + |mu_k|^2)):
    /// one Gemm with alpha = 2t and the per-class constant as its bias.
    /// </summary>
    private void Emit(OnnxGraph g, string z, string output)
    {
        var mu = OnnxLayers.Values(prototypes);
        var t = (double)OnnxLayers.Values(temperature)[0];
        var (k, d) = ((int)NumClasses, (int)EmbeddingDim);
        var bias = new float[k];
        for (var c = 0; c < k; c++)
        {
            double sq = 0;
            for (var j = 0; j < d; j++) sq += (double)mu[c * d + j] * mu[c * d + j];
            bias[c] = (float)(-t * (1 + sq));
        }
        g.Op("Gemm", [OnnxLayers.L2Normalize(g, z), g.Constant("head.prototypes", mu, k, d), g.Constant("head.distance_offset", bias, k)],
            [OnnxGraph.Attribute.Int("transB", 1), OnnxGraph.Attribute.Float("alpha", (float)(2 * t))], output: output);
    }
}

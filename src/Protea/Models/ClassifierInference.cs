using TorchSharp;
using static TorchSharp.torch;

namespace Protea.Models;

/// <summary>Eval-mode, no-grad forward passes of a TorchSharp classifier over a whole raw input tensor, in batches.</summary>
public static class ClassifierInference
{
    public const int DefaultBatchSize = 1000;

    /// <summary>Logits [N, K] of raw inputs (uint8 images or float tabular rows), row-major.</summary>
    public static float[] Logits(Classifier model, InputNormalization normalization, Tensor inputs, int batchSize = DefaultBatchSize) =>
        Logits(model, normalization, inputs.shape[0], (start, len) => inputs.narrow(0, start, len), batchSize);

    /// <summary>Logits of a data set, held in memory or streamed (a batch read at a time).</summary>
    public static float[] Logits(Classifier model, InputNormalization normalization, Data.Dataset data, int batchSize = DefaultBatchSize) =>
        data.IsStreamed ? Logits(model, normalization, data.Count, data.Slice, batchSize) : Logits(model, normalization, data.Inputs, batchSize);

    /// <summary>Embeddings of a data set, held in memory or streamed (a batch read at a time).</summary>
    public static Tensor Embeddings(Classifier model, InputNormalization normalization, Data.Dataset data, int batchSize = DefaultBatchSize) =>
        data.IsStreamed ? Embeddings(model, normalization, data.Count, data.Slice, batchSize) : Embeddings(model, normalization, data.Inputs, batchSize);

    private static float[] Logits(Classifier model, InputNormalization normalization, long n, Func<long, long, Tensor> rows, int batchSize)
    {
        model.eval();
        using var noGrad = no_grad();
        var k = model.Head.NumClasses;
        var result = new float[n * k];
        for (long start = 0; start < n; start += batchSize)
        {
            using var scope = NewDisposeScope();
            var len = Math.Min(batchSize, n - start);
            var logits = model.forward(normalization.Apply(rows(start, len))).contiguous();
            logits.data<float>().CopyTo(result.AsSpan((int)(start * k), (int)(len * k)));
        }
        return result;
    }

    /// <summary>Embeddings [N, D] (the backbone's output, before the head) as one tensor.</summary>
    public static Tensor Embeddings(Classifier model, InputNormalization normalization, Tensor inputs, int batchSize = DefaultBatchSize) =>
        Embeddings(model, normalization, inputs.shape[0], (start, len) => inputs.narrow(0, start, len), batchSize);

    private static Tensor Embeddings(Classifier model, InputNormalization normalization, long n, Func<long, long, Tensor> rows, int batchSize)
    {
        model.eval();
        using var noGrad = no_grad();
        var result = empty(n, model.Backbone.EmbeddingDim);
        for (long start = 0; start < n; start += batchSize)
        {
            using var scope = NewDisposeScope();
            var len = Math.Min(batchSize, n - start);
            result.narrow(0, start, len).copy_(model.Embed(normalization.Apply(rows(start, len))));
        }
        return result;
    }
}

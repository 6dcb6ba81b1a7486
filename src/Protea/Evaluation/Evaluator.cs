using Protea.Data;
using Protea.Deploy;
using Protea.Models;
using Protea.Predictions;

namespace Protea.Evaluation;

/// <summary>A saved model's metrics on a data set, and where they came from.</summary>
/// <param name="Report">Accuracy, top-5, per-class precision/recall/F1, confusion matrix, ECE.</param>
/// <param name="Engine">The engine that ran the model: "torch" or "onnx".</param>
/// <param name="Data">The data evaluated, as its spec names it.</param>
/// <param name="Split">"test" when the data has its own test split (evaluated alone), else "all".</param>
/// <param name="PassedOverExport">True when Auto found model.onnx stale or unreadable and ran TorchSharp instead.</param>
public sealed record ModelEvaluation(EvaluationReport Report, string Engine, string Data, string Split, bool PassedOverExport);

/// <summary>Evaluates a saved model on a data spec's test split (or all of it when it has none).</summary>
/// <remarks>
/// Sets no process-wide state: the host sets TorchSharp's thread count (torch.set_num_threads) before
/// evaluating; <c>threads</c> is ONNX Runtime's, per session.
/// </remarks>
public static class Evaluator
{
    public static ModelEvaluation Evaluate(string modelDir, DataSpec spec, EngineChoice engine = EngineChoice.Auto, int threads = 0,
        CancellationToken cancellation = default)
    {
        var description = ModelBundle.ReadDescription(modelDir);
        var fitted = ModelInputs.ForModel(spec, description);
        var (data, isTest) = fitted.LoadEvaluationSet();
        using var _ = data;
        ModelInputs.CheckCompatible(data, description, fitted);
        using var opened = InferenceEngines.Open(modelDir, engine, threads, out var passedOver);
        var output = InferenceEngines.RunAll(opened, data, cancellation: cancellation);
        var labels = ModelInputs.MapLabels(data, description);
        var report = ClassificationMetrics.Evaluate(output.Logits, labels, description.ClassNames);
        return new ModelEvaluation(report, opened.Name, fitted.ToString(), isTest ? "test" : "all", passedOver);
    }
}

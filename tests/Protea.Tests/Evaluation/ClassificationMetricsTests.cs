using System.Text.Json;
using Protea.Evaluation;
using Protea.IO;
using Protea.Tests.Support;

namespace Protea.Tests.Evaluation;

public sealed class ClassificationMetricsTests
{
    private const double Tolerance = 1e-9;

    // scikit-learn 1.2 on Debian's /usr/bin/python3 is the oracle; the ECE oracle is the usual numpy loop
    // over np.linspace(0, 1, 16) bins, open on the left (Guo et al. 2017's reference code).
    private const string SklearnOracle = """
        import json, sys
        import numpy as np
        from sklearn.metrics import (accuracy_score, confusion_matrix, f1_score, log_loss,
                                     precision_recall_fscore_support, top_k_accuracy_score)
        d = json.load(open(sys.argv[1]))
        k = d["k"]
        y = np.array(d["labels"], dtype=np.int64)
        scores = np.array(d["scores"], dtype=np.float32).reshape(len(y), k).astype(np.float64)
        keep = y >= 0
        y, scores = y[keep], scores[keep]
        if d["kind"] == "logits":
            z = scores - scores.max(axis=1, keepdims=True)
            p = np.exp(z) / np.exp(z).sum(axis=1, keepdims=True)
            nll = log_loss(y, p, labels=list(range(k)))
        else:
            p = scores
            nll = float(np.mean(-np.log(np.clip(p[np.arange(len(y)), y], 1e-15, None))))
        pred = p.argmax(axis=1)
        prec, rec, f1, sup = precision_recall_fscore_support(y, pred, labels=list(range(k)), zero_division=0)
        conf = p.max(axis=1)
        acc = (pred == y).astype(np.float64)
        bounds = np.linspace(0, 1, 16)
        ece = 0.0
        for lo, hi in zip(bounds[:-1], bounds[1:]):
            m = (conf > lo) & (conf <= hi)
            if m.any():
                ece += m.mean() * abs(acc[m].mean() - conf[m].mean())
        print(json.dumps({
            "accuracy": accuracy_score(y, pred),
            "topk": top_k_accuracy_score(y, p, k=min(5, k), labels=list(range(k))),
            "precision": prec.tolist(), "recall": rec.tolist(), "f1": f1.tolist(), "support": sup.tolist(),
            "macro_f1": f1_score(y, pred, labels=list(range(k)), average="macro", zero_division=0),
            "confusion": confusion_matrix(y, pred, labels=list(range(k))).tolist(),
            "nll": nll, "ece": ece, "count": int(len(y)),
        }))
        """;

    [Fact]
    public void Evaluate_RandomLogits_MatchesScikitLearn()
    {
        var (logits, labels) = RandomLogits(rows: 500, classes: 7, seed: 20240611, unlabelled: 25);
        var names = Enumerable.Range(0, 7).Select(c => $"class{c}").ToArray();

        var report = ClassificationMetrics.Evaluate(logits, labels, names);

        var oracle = RunOracle(logits, labels, 7, "logits");
        AssertMatches(oracle, report);
        // The data is built so class 6 is never predicted: the zero_division=0 path is exercised too.
        Assert.Equal(0, report.PerClass[6].Precision);
        Assert.True(report.PerClass[6].Support > 0);
    }

    [Fact]
    public void Evaluate_Probabilities_MatchesNumpyAndScikitLearn()
    {
        var (logits, labels) = RandomLogits(rows: 300, classes: 5, seed: 7, unlabelled: 10);
        var probabilities = new float[logits.Length];
        for (var i = 0; i < labels.Length; i++)
        {
            var row = logits.AsSpan(i * 5, 5);
            var max = row.ToArray().Max();
            var sum = row.ToArray().Sum(z => Math.Exp(z - max));
            for (var c = 0; c < 5; c++) probabilities[i * 5 + c] = (float)(Math.Exp(row[c] - max) / sum);
        }
        var names = Enumerable.Range(0, 5).Select(c => $"c{c}").ToArray();

        var report = ClassificationMetrics.Evaluate(probabilities, labels, names, ScoreKind.Probabilities);

        AssertMatches(RunOracle(probabilities, labels, 5, "probabilities"), report);
    }

    [Fact]
    public void ExpectedCalibrationError_HandComputedBins()
    {
        // Bins are (b/15, (b+1)/15]; width 0.0667.
        //   0.95, 0.94 -> bin 14 (0.9333, 1]:      acc 1/2, conf 0.945, gap 0.445, weight 2/6
        //   0.60, 0.55 -> bin 8  (0.5333, 0.6]:    acc 1/2, conf 0.575, gap 0.075, weight 2/6 (0.6 = 9/15 is a right edge)
        //   0.30       -> bin 4  (0.2667, 0.3333]: acc 1,   conf 0.3,   gap 0.7,   weight 1/6
        //   0.00       -> bin 0 (kept, not dropped): acc 1, conf 0,     gap 1,     weight 1/6
        // ECE = (2*0.445 + 2*0.075 + 0.7 + 1) / 6 = 2.74 / 6.
        double[] confidences = [0.95, 0.94, 0.6, 0.55, 0.3, 0.0];
        bool[] correct = [true, false, true, false, true, true];

        var ece = ClassificationMetrics.ExpectedCalibrationError(confidences, correct);

        Assert.Equal(2.74 / 6, ece, Tolerance);
    }

    [Fact]
    public void Evaluate_ProbabilityRows_EceFromHandComputedBins()
    {
        // Confidence = max probability: 0.9 (bin 13, right), 0.75 (bin 11, wrong), 0.62 and 0.65 (bin 9, both right).
        // ECE = 1/4*|1-0.9| + 1/4*|0-0.75| + 2/4*|1-0.635| = 0.025 + 0.1875 + 0.1825 = 0.395.
        float[] probabilities = [0.9f, 0.1f, 0.25f, 0.75f, 0.62f, 0.38f, 0.35f, 0.65f];
        long[] labels = [0, 0, 0, 1];

        var report = ClassificationMetrics.Evaluate(probabilities, labels, ["a", "b"], ScoreKind.Probabilities);

        Assert.Equal(0.395, report.Ece, 1e-6);
        Assert.Equal(0.75, report.Accuracy);
    }

    [Fact]
    public void Evaluate_ClassNeverPredicted_HasZeroPrecisionAndHandComputedScores()
    {
        // Predictions 0, 1, 1, 0 for labels 0, 1, 2, 2: class 2 is never predicted.
        float[] logits = [5, 0, 0, /**/ 0, 5, 0, /**/ 0, 5, 0, /**/ 5, 0, 0];
        long[] labels = [0, 1, 2, 2];

        var report = ClassificationMetrics.Evaluate(logits, labels, ["a", "b", "c"]);

        Assert.Equal(0.5, report.Accuracy);
        // Class a: 1 true positive of 2 predicted and 1 actual: P = 1/2, R = 1, F1 = 2/3; class b likewise.
        Assert.Equal(("a", 0.5, 1.0, 1L), (report.PerClass[0].Class, report.PerClass[0].Precision, report.PerClass[0].Recall, report.PerClass[0].Support));
        Assert.Equal(2.0 / 3, report.PerClass[0].F1, Tolerance);
        Assert.Equal(2.0 / 3, report.PerClass[1].F1, Tolerance);
        Assert.Equal(new ClassMetrics("c", 0, 0, 0, 2), report.PerClass[2]);
        Assert.Equal(4.0 / 9, report.MacroF1, Tolerance);
        Assert.Equal(new long[][] { [1, 0, 0], [0, 1, 0], [1, 1, 0] }, report.Confusion);
    }

    [Fact]
    public void Evaluate_NegativeLabels_AreIgnored()
    {
        var (logits, labels) = RandomLogits(rows: 60, classes: 4, seed: 3, unlabelled: 0);
        var names = new[] { "w", "x", "y", "z" };
        // The same data with unlabelled rows (scores that would all be wrong) spliced in every third row.
        var withGaps = new List<float>();
        var gapLabels = new List<long>();
        for (var i = 0; i < labels.Length; i++)
        {
            if (i % 3 == 0)
            {
                withGaps.AddRange([9, -9, -9, -9]);
                gapLabels.Add(-1 - i % 2);
            }
            withGaps.AddRange(logits.AsSpan(i * 4, 4).ToArray());
            gapLabels.Add(labels[i]);
        }

        var expected = ClassificationMetrics.Evaluate(logits, labels, names);
        var actual = ClassificationMetrics.Evaluate(withGaps.ToArray(), gapLabels.ToArray(), names);

        Assert.Equal(60, actual.Count);
        Assert.Equal(Json(expected), Json(actual));
    }

    [Fact]
    public void Evaluate_FewerThanFiveClasses_TopKIsAllClassesAndOne()
    {
        // Every example wrong at top-1, but with k = K = 3 the label is always among the top k.
        float[] logits = [0, 1, 2, /**/ 2, 1, 0];
        long[] labels = [0, 2];

        var report = ClassificationMetrics.Evaluate(logits, labels, ["a", "b", "c"]);

        Assert.Equal(0, report.Accuracy);
        Assert.Equal(3, report.TopK);
        Assert.Equal(1.0, report.Top5Accuracy);
    }

    [Fact]
    public void Evaluate_TopFive_CountsLabelsRankedFifthButNotSixth()
    {
        // Six classes scored 6..1 for class 0..5: class 4 ranks fifth, class 5 sixth; a tie goes to the lower index.
        float[] logits = [6, 5, 4, 3, 2, 1, /**/ 6, 5, 4, 3, 2, 1, /**/ 3, 3, 3, 3, 3, 3, /**/ 3, 3, 3, 3, 3, 3];
        long[] labels = [4, 5, 4, 5];

        var report = ClassificationMetrics.Evaluate(logits, labels, ["a", "b", "c", "d", "e", "f"]);

        Assert.Equal(5, report.TopK);
        Assert.Equal(0.5, report.Top5Accuracy);
        Assert.Equal(4, report.Confusion[4][0] + report.Confusion[5][0]);
    }

    [Fact]
    public void Evaluate_ExtremeLogits_StaysFiniteWithExactNll()
    {
        // A naive exp(1000) overflows; the shifted softmax gives NLL 0 for the first row and 2000 for the second.
        float[] logits = [1000, -1000, /**/ 1000, -1000];
        long[] labels = [0, 1];

        var report = ClassificationMetrics.Evaluate(logits, labels, ["a", "b"]);

        Assert.Equal(1000.0, report.Nll, Tolerance);
        // Both rows have confidence 1; one is right: the single bin has accuracy 1/2, so ECE = 0.5.
        Assert.Equal(0.5, report.Ece, Tolerance);
    }

    [Fact]
    public void Evaluate_JaggedRows_EqualsFlatMatrix()
    {
        var (logits, labels) = RandomLogits(rows: 40, classes: 6, seed: 11, unlabelled: 4);
        var rows = Enumerable.Range(0, 40).Select(i => logits.AsSpan(i * 6, 6).ToArray()).ToArray();
        var names = Enumerable.Range(0, 6).Select(c => c.ToString()).ToArray();

        Assert.Equal(Json(ClassificationMetrics.Evaluate(logits, labels, names)),
                     Json(ClassificationMetrics.Evaluate(rows, labels, names)));
    }

    [Fact]
    public void Evaluate_LabelOutsideClasses_NamesExampleAndFix()
    {
        var error = Assert.Throws<ProteaException>(() =>
            ClassificationMetrics.Evaluate([1f, 0f, 0f, 1f], [0L, 2L], ["a", "b"]));

        Assert.Contains("example 1 has label 2", error.Message);
        Assert.Contains("only 2 classes", error.Message);
    }

    [Fact]
    public void Evaluate_NoLabelledExamples_Throws()
    {
        var error = Assert.Throws<ProteaException>(() =>
            ClassificationMetrics.Evaluate([1f, 0f], [-1L], ["a", "b"]));

        Assert.Contains("no labelled examples", error.Message);
    }

    [Fact]
    public void Json_UsesTheCliFieldNames()
    {
        var report = ClassificationMetrics.Evaluate([2f, 1f, 0f, 0f, 1f, 2f], [0L, 1L], ["cat", "dog", "eel"]);

        using var doc = JsonDocument.Parse(JsonSerializer.Serialize(report, ProteaJson.Options));
        var root = doc.RootElement;

        Assert.Equal(0.5, root.GetProperty("accuracy").GetDouble());
        Assert.Equal(1.0, root.GetProperty("top5_accuracy").GetDouble());
        foreach (var name in new[] { "ece", "nll", "macro_f1" })
            Assert.Equal(JsonValueKind.Number, root.GetProperty(name).ValueKind);
        Assert.Equal(2, root.GetProperty("count").GetInt32());
        var dog = root.GetProperty("per_class")[1];
        Assert.Equal("dog", dog.GetProperty("class").GetString());
        Assert.Equal(0.0, dog.GetProperty("precision").GetDouble());
        Assert.Equal(0.0, dog.GetProperty("recall").GetDouble());
        Assert.Equal(0.0, dog.GetProperty("f1").GetDouble());
        Assert.Equal(1, dog.GetProperty("support").GetInt64());
        Assert.Equal("[[1,0,0],[0,0,1],[0,0,0]]", root.GetProperty("confusion").GetRawText().Replace(" ", "").ReplaceLineEndings(""));

        var back = JsonSerializer.Deserialize<EvaluationReport>(root.GetRawText(), ProteaJson.Options)!;
        Assert.Equal(Json(report), Json(back));
    }

    [Fact]
    public void PredictedClassesAndAccuracy_TiesGoToLowerIndexAndNegativeLabelsSkip()
    {
        float[] logits = [1, 3, 3, /**/ 2, 2, 0, /**/ 0, 0, 1, /**/ 5, 0, 0];
        long[] labels = [1, 1, 2, -1];

        var predicted = ClassificationMetrics.PredictedClasses(logits, 3);

        Assert.Equal([1, 0, 2, 0], predicted);
        // Rows 0 and 2 right, row 1 wrong, row 3 unlabelled.
        Assert.Equal((2L, 3L), ClassificationMetrics.CountCorrect(logits, 3, labels));
        Assert.Equal(2.0 / 3, ClassificationMetrics.Accuracy(logits, 3, labels), Tolerance);
        Assert.Equal(2.0 / 3, ClassificationMetrics.Accuracy(predicted, labels), Tolerance);
    }

    private static void AssertMatches(JsonElement oracle, EvaluationReport report)
    {
        Assert.Equal(oracle.GetProperty("count").GetInt32(), report.Count);
        Assert.Equal(oracle.GetProperty("accuracy").GetDouble(), report.Accuracy, Tolerance);
        Assert.Equal(oracle.GetProperty("topk").GetDouble(), report.Top5Accuracy, Tolerance);
        Assert.Equal(oracle.GetProperty("macro_f1").GetDouble(), report.MacroF1, Tolerance);
        Assert.Equal(oracle.GetProperty("nll").GetDouble(), report.Nll, Tolerance);
        Assert.Equal(oracle.GetProperty("ece").GetDouble(), report.Ece, Tolerance);
        for (var c = 0; c < report.PerClass.Count; c++)
        {
            Assert.Equal(oracle.GetProperty("precision")[c].GetDouble(), report.PerClass[c].Precision, Tolerance);
            Assert.Equal(oracle.GetProperty("recall")[c].GetDouble(), report.PerClass[c].Recall, Tolerance);
            Assert.Equal(oracle.GetProperty("f1")[c].GetDouble(), report.PerClass[c].F1, Tolerance);
            Assert.Equal(oracle.GetProperty("support")[c].GetInt64(), report.PerClass[c].Support);
        }
        var confusion = oracle.GetProperty("confusion").EnumerateArray()
            .Select(row => row.EnumerateArray().Select(v => v.GetInt64()).ToArray()).ToArray();
        Assert.Equal(confusion, report.Confusion);
    }

    private static JsonElement RunOracle(float[] scores, long[] labels, int classes, string kind)
    {
        using var dir = new TempDir();
        var input = dir.File("scores.json");
        File.WriteAllText(input, JsonSerializer.Serialize(new
        {
            k = classes,
            kind,
            labels,
            // As doubles so the JSON holds each float32 value exactly.
            scores = scores.Select(s => (double)s).ToArray(),
        }));
        return JsonDocument.Parse(Python.Run(SklearnOracle, input)).RootElement.Clone();
    }

    /// <summary>
    /// Normal logits with the label's logit raised by 1.5, so accuracy is well above chance but far from 1;
    /// the last class's logit is lowered by 10 so it is never predicted. The first rows are unlabelled (-1).
    /// </summary>
    private static (float[] Logits, long[] Labels) RandomLogits(int rows, int classes, int seed, int unlabelled)
    {
        var random = new Random(seed);
        var logits = new float[rows * classes];
        var labels = new long[rows];
        for (var i = 0; i < rows; i++)
        {
            labels[i] = i < unlabelled ? -1 : random.Next(classes);
            for (var c = 0; c < classes; c++)
            {
                // Box-Muller.
                var normal = Math.Sqrt(-2 * Math.Log(1 - random.NextDouble())) * Math.Cos(2 * Math.PI * random.NextDouble());
                logits[i * classes + c] = (float)(normal + (c == labels[i] ? 1.5 : 0) - (c == classes - 1 ? 10 : 0));
            }
        }
        return (logits, labels);
    }

    private static string Json(EvaluationReport report) => JsonSerializer.Serialize(report, ProteaJson.Compact);
}

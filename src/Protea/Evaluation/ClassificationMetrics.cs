namespace Protea.Evaluation;

/// <summary>
/// Classification metrics over a score matrix held as plain arrays: scores are float[N*K] row-major
/// (row i = example i, column k = class k), labels are long[N] and labels &lt; 0 (unlabelled) are skipped.
/// Arg-max and ranking ties go to the lower class index, as numpy.argmax does.
/// </summary>
public static class ClassificationMetrics
{
    /// <summary>Bins used by <see cref="ExpectedCalibrationError"/>: 15, as in Guo et al. 2017.</summary>
    public const int CalibrationBins = 15;

    /// <summary>The k of the top-k accuracy (capped at the number of classes).</summary>
    public const int TopK = 5;

    /// <summary>Probabilities are clipped here before the log, as scikit-learn's log_loss does, so NLL stays finite.</summary>
    private const double ProbabilityFloor = 1e-15;

    /// <summary>Every metric of <see cref="EvaluationReport"/> in one pass over the scores.</summary>
    public static EvaluationReport Evaluate(
        ReadOnlySpan<float> scores, ReadOnlySpan<long> labels, IReadOnlyList<string> classNames,
        ScoreKind kind = ScoreKind.Logits)
    {
        var k = classNames.Count;
        CheckShape(scores.Length, labels.Length, k);
        var topK = Math.Min(TopK, k);
        var confusion = new long[k][];
        for (var c = 0; c < k; c++) confusion[c] = new long[k];
        var confidences = new List<double>(labels.Length);
        var correct = new List<bool>(labels.Length);
        long topKHits = 0;
        double nllSum = 0;

        for (var i = 0; i < labels.Length; i++)
        {
            var label = labels[i];
            if (label < 0) continue;
            CheckLabel(label, i, k);
            var y = (int)label;
            var row = scores.Slice(i * k, k);
            var predicted = PredictedClass(row);
            confusion[y][predicted]++;
            if (Rank(row, y) < topK) topKHits++;

            double confidence, nll;
            if (kind == ScoreKind.Logits)
            {
                // Stable softmax in double: shift by the max logit, so the largest term is exp(0) = 1 and
                // the top probability is exactly 1 / sum; log p_y = z_y - max - log(sum).
                double max = row[predicted], sum = 0;
                foreach (var z in row) sum += Math.Exp(z - max);
                confidence = 1.0 / sum;
                nll = max + Math.Log(sum) - row[y];
            }
            else
            {
                confidence = row[predicted];
                nll = -Math.Log(Math.Max(row[y], ProbabilityFloor));
            }
            confidences.Add(confidence);
            correct.Add(predicted == y);
            nllSum += nll;
        }

        var count = confidences.Count;
        if (count == 0) throw NoLabels();

        var perClass = PerClass(confusion, classNames);
        long hits = 0;
        for (var c = 0; c < k; c++) hits += confusion[c][c];
        return new EvaluationReport(
            Accuracy: (double)hits / count,
            Top5Accuracy: (double)topKHits / count,
            TopK: topK,
            Ece: ExpectedCalibrationError(confidences.ToArray(), correct.ToArray()),
            Nll: nllSum / count,
            MacroF1: perClass.Average(m => m.F1),
            Count: count,
            PerClass: perClass,
            Confusion: confusion);
    }

    /// <summary><see cref="Evaluate(ReadOnlySpan{float}, ReadOnlySpan{long}, IReadOnlyList{string}, ScoreKind)"/> over a float[N][K] view.</summary>
    public static EvaluationReport Evaluate(
        IReadOnlyList<float[]> scores, ReadOnlySpan<long> labels, IReadOnlyList<string> classNames,
        ScoreKind kind = ScoreKind.Logits) =>
        Evaluate(Flatten(scores, classNames.Count), labels, classNames, kind);

    /// <summary>The arg-max class of one row of scores (first index on ties).</summary>
    public static int PredictedClass(ReadOnlySpan<float> row)
    {
        if (row.IsEmpty) throw new ArgumentException("a score row needs at least one class", nameof(row));
        var best = 0;
        for (var c = 1; c < row.Length; c++)
            if (row[c] > row[best]) best = c;
        return best;
    }

    /// <summary>The arg-max class of every row of a float[N*K] score matrix.</summary>
    public static int[] PredictedClasses(ReadOnlySpan<float> scores, int classCount)
    {
        if (classCount <= 0 || scores.Length % classCount != 0)
            throw new ArgumentException($"{scores.Length} scores do not split into rows of {classCount} classes", nameof(scores));
        var predicted = new int[scores.Length / classCount];
        for (var i = 0; i < predicted.Length; i++)
            predicted[i] = PredictedClass(scores.Slice(i * classCount, classCount));
        return predicted;
    }

    /// <summary>
    /// How many labelled rows the arg-max gets right, and how many labelled rows there are, so a trainer can
    /// add batches up into an epoch accuracy without keeping the scores.
    /// </summary>
    public static (long Correct, long Labelled) CountCorrect(ReadOnlySpan<float> scores, int classCount, ReadOnlySpan<long> labels)
    {
        CheckShape(scores.Length, labels.Length, classCount);
        long correct = 0, labelled = 0;
        for (var i = 0; i < labels.Length; i++)
        {
            if (labels[i] < 0) continue;
            labelled++;
            if (PredictedClass(scores.Slice(i * classCount, classCount)) == labels[i]) correct++;
        }
        return (correct, labelled);
    }

    /// <summary>Fraction of labelled rows whose arg-max score is the label.</summary>
    public static double Accuracy(ReadOnlySpan<float> scores, int classCount, ReadOnlySpan<long> labels)
    {
        var (correct, labelled) = CountCorrect(scores, classCount, labels);
        return labelled == 0 ? throw NoLabels() : (double)correct / labelled;
    }

    /// <summary>Fraction of labelled examples whose predicted class is the label.</summary>
    public static double Accuracy(ReadOnlySpan<int> predicted, ReadOnlySpan<long> labels)
    {
        if (predicted.Length != labels.Length)
            throw new ArgumentException($"{predicted.Length} predictions but {labels.Length} labels", nameof(predicted));
        long correct = 0, labelled = 0;
        for (var i = 0; i < labels.Length; i++)
        {
            if (labels[i] < 0) continue;
            labelled++;
            if (predicted[i] == labels[i]) correct++;
        }
        return labelled == 0 ? throw NoLabels() : (double)correct / labelled;
    }

    /// <summary>
    /// Expected calibration error (Guo et al. 2017): ECE = sum_b |B_b|/N * |acc(B_b) - conf(B_b)| over
    /// <paramref name="bins"/> equal-width bins (i/bins, (i+1)/bins]. As in the reference implementation a bin
    /// is open on the left; a confidence of exactly 0 is put in the first bin rather than dropped.
    /// </summary>
    public static double ExpectedCalibrationError(ReadOnlySpan<double> confidences, ReadOnlySpan<bool> correct, int bins = CalibrationBins)
    {
        if (confidences.Length != correct.Length)
            throw new ArgumentException($"{confidences.Length} confidences but {correct.Length} outcomes", nameof(correct));
        if (bins <= 0) throw new ArgumentOutOfRangeException(nameof(bins), bins, "needs at least one bin");
        if (confidences.IsEmpty) return 0;
        var counts = new long[bins];
        var hits = new long[bins];
        var confidenceSums = new double[bins];
        for (var i = 0; i < confidences.Length; i++)
        {
            var b = Bin(confidences[i], bins);
            counts[b]++;
            confidenceSums[b] += confidences[i];
            if (correct[i]) hits[b]++;
        }
        double ece = 0;
        for (var b = 0; b < bins; b++)
        {
            if (counts[b] == 0) continue;
            var gap = Math.Abs((double)hits[b] / counts[b] - confidenceSums[b] / counts[b]);
            ece += (double)counts[b] / confidences.Length * gap;
        }
        return ece;
    }

    /// <summary>Index b with b/bins &lt; c &lt;= (b+1)/bins, clamped to the first and last bin.</summary>
    private static int Bin(double confidence, int bins)
    {
        // ceil(c * bins) - 1 can be off by one where c * bins rounds across an integer; the comparisons
        // against the boundaries b / bins settle it exactly.
        var b = Math.Clamp((int)Math.Ceiling(confidence * bins) - 1, 0, bins - 1);
        while (b > 0 && confidence <= (double)b / bins) b--;
        while (b < bins - 1 && confidence > (double)(b + 1) / bins) b++;
        return b;
    }

    /// <summary>Zero-based rank of class y in the row: classes scored higher, or equal with a lower index, come first.</summary>
    private static int Rank(ReadOnlySpan<float> row, int y)
    {
        var score = row[y];
        var rank = 0;
        for (var c = 0; c < row.Length; c++)
            if (row[c] > score || (row[c] == score && c < y)) rank++;
        return rank;
    }

    private static ClassMetrics[] PerClass(long[][] confusion, IReadOnlyList<string> classNames)
    {
        var k = confusion.Length;
        var result = new ClassMetrics[k];
        for (var c = 0; c < k; c++)
        {
            long truePositives = confusion[c][c], support = 0, predicted = 0;
            for (var j = 0; j < k; j++)
            {
                support += confusion[c][j];
                predicted += confusion[j][c];
            }
            var precision = predicted == 0 ? 0 : (double)truePositives / predicted;
            var recall = support == 0 ? 0 : (double)truePositives / support;
            var f1 = precision + recall == 0 ? 0 : 2 * precision * recall / (precision + recall);
            result[c] = new ClassMetrics(classNames[c], precision, recall, f1, support);
        }
        return result;
    }

    private static float[] Flatten(IReadOnlyList<float[]> rows, int classCount)
    {
        var flat = new float[rows.Count * classCount];
        for (var i = 0; i < rows.Count; i++)
        {
            if (rows[i].Length != classCount)
                throw new ArgumentException($"score row {i} has {rows[i].Length} values; expected one per class ({classCount})", nameof(rows));
            rows[i].CopyTo(flat, i * classCount);
        }
        return flat;
    }

    private static void CheckShape(int scoreCount, int labelCount, int classCount)
    {
        if (classCount <= 0) throw new ArgumentException("evaluation needs at least one class");
        if (scoreCount != (long)labelCount * classCount)
            throw new ArgumentException($"{scoreCount} scores for {labelCount} labels x {classCount} classes; expected {(long)labelCount * classCount}");
    }

    private static void CheckLabel(long label, int row, int classCount)
    {
        if (label >= classCount)
            throw new ProteaException($"evaluation: example {row} has label {label} but the model knows only {classCount} classes (0-{classCount - 1}); evaluate on data with the model's classes");
    }

    private static ProteaException NoLabels() =>
        new("evaluation: the data has no labelled examples (every label is < 0); evaluate on labelled data");
}

using Protea.Data;
using Protea.Deploy;
using Protea.Models;
using Protea.Predictions;
using Protea.Tests.Support;
using SkiaSharp;
using static TorchSharp.torch;

namespace Protea.Tests.Predictions;

public sealed class PredictorTests
{
    private static readonly string[] IrisFeatures = ["sepal_length", "sepal_width", "petal_length", "petal_width"];

    /// <summary>A seeded, untrained model saved in DIR/model (random weights give distinct outputs for distinct inputs).</summary>
    private static string SaveModel(TempDir dir, ModelDescription description, int seed)
    {
        manual_seed(seed);
        using var bundle = new ModelBundle(description, Architectures.Create(description));
        var path = dir.File("model");
        bundle.Save(path);
        return path;
    }

    private static string ImageModel(TempDir dir) => SaveModel(dir, new ModelDescription
    {
        Architecture = "cnn", Head = "linear", InputKind = InputKind.Image, InputShape = [3, 16, 16],
        ClassNames = ["a", "b", "c", "d", "e"], Normalization = new InputNormalization([120, 110, 100], [60, 70, 80], 1),
    }, seed: 11);

    private static string IrisModel(TempDir dir) => SaveModel(dir, new ModelDescription
    {
        Architecture = "mlp", Head = "linear", InputKind = InputKind.Tabular, InputShape = [4],
        ClassNames = ["setosa", "versicolor", "virginica"], FeatureNames = IrisFeatures, LabelColumn = "species",
        Normalization = new InputNormalization([5.8, 3.1, 3.8, 1.2], [0.8, 0.4, 1.8, 0.8], 1),
    }, seed: 12);

    /// <summary>RGB images of another size than the model's (so decoding resizes), PNG and JPEG, with random content.</summary>
    private static List<string> WriteImages(TempDir dir, int count)
    {
        var random = new Random(5);
        var files = new List<string>();
        for (var i = 0; i < count; i++)
        {
            var pixels = Enumerable.Range(0, 20 * 24 * 3).Select(_ => (byte)random.Next(256)).ToArray();
            var format = i % 2 == 0 ? SKEncodedImageFormat.Png : SKEncodedImageFormat.Jpeg;
            files.Add(TestImages.Write(dir.File($"img{i}.{(i % 2 == 0 ? "png" : "jpg")}"), 24, 20,
                (x, y) => new SKColor(pixels[3 * (y * 24 + x)], pixels[3 * (y * 24 + x) + 1], pixels[3 * (y * 24 + x) + 2]), format: format));
        }
        return files;
    }

    private static void AssertSame(Prediction expected, Prediction actual)
    {
        Assert.Equal(expected.Class, actual.Class);
        Assert.Equal(expected.Probability, actual.Probability);
        Assert.Equal(expected.Top, actual.Top);
        Assert.Equal(expected.Embedding, actual.Embedding);
    }

    [Theory]
    [InlineData(EngineChoice.Torch)]
    [InlineData(EngineChoice.Onnx)]
    public void PredictImage_FromBytesOrStream_EqualsPredictFiles_FromPaths(EngineChoice engine)
    {
        using var dir = new TempDir();
        var model = ImageModel(dir);
        if (engine == EngineChoice.Onnx) OnnxExporter.Export(model);
        var files = WriteImages(dir, 6);
        using var predictor = Predictor.Open(model, engine, threads: 1);
        Assert.Equal(engine.ToString().ToLowerInvariant(), predictor.EngineName);

        var fromPaths = predictor.PredictFiles(files, top: 5);
        var bytes = files.Select(File.ReadAllBytes).ToList();
        var fromBytes = predictor.PredictImages(bytes.Select(b => (ReadOnlyMemory<byte>)b).ToList(), files, top: 5);
        for (var i = 0; i < files.Count; i++)
        {
            Assert.Equal(files[i], fromPaths[i].Input);
            AssertSame(fromPaths[i], fromBytes[i]);
            // One image alone is a batch of one (TorchSharp may round a batch of one differently from a batch of six).
            var alone = predictor.PredictFiles([files[i]], top: 5)[0];
            AssertSame(alone, predictor.PredictImage(bytes[i], "upload", top: 5));
            using var stream = new MemoryStream(bytes[i]);
            AssertSame(alone, predictor.PredictImage(stream, "upload", top: 5));
        }
        Assert.Equal(files.Count, fromPaths.Select(p => p.Probability).Distinct().Count()); // the inputs really differ
        Assert.All(fromPaths, p => Assert.Equal(128, p.Embedding.Count));
        Assert.All(fromPaths, p => { Assert.Null(p.UnknownScore); Assert.Null(p.IsUnknown); Assert.Null(p.Evidence); });
    }

    /// <summary>Properties of every prediction: top-k sorted, each class once, probabilities over all classes summing to 1.</summary>
    [Fact]
    public void Predictions_TopIsSorted_AndAllClassesSumToOne()
    {
        using var dir = new TempDir();
        var model = IrisModel(dir);
        using var predictor = Predictor.Open(model, EngineChoice.Torch);
        var random = new Random(3);
        var rows = Enumerable.Range(0, 200).Select(_ => (IReadOnlyList<double>)Enumerable.Range(0, 4).Select(_ => random.NextDouble() * 40 - 20).ToArray()).ToList();
        foreach (var p in predictor.PredictRows(IrisFeatures, rows, top: 3))
        {
            Assert.Equal(3, p.Top.Count);
            Assert.Equal(3, p.Top.Select(t => t.Class).Distinct().Count());
            Assert.Equal(1.0, p.Top.Sum(t => t.Probability), 1e-12);
            for (var k = 1; k < p.Top.Count; k++) Assert.True(p.Top[k - 1].Probability >= p.Top[k].Probability);
            Assert.Equal(p.Top[0].Class, p.Class);
            Assert.Equal(p.Top[0].Probability, p.Probability);
        }
        var two = predictor.PredictRows(IrisFeatures, rows.Take(5).ToList(), top: 2);
        Assert.All(two, p => { Assert.Equal(2, p.Top.Count); Assert.True(p.Top.Sum(t => t.Probability) < 1); });
        Assert.Equal(["row 1", "row 2", "row 3", "row 4", "row 5"], two.Select(p => p.Input));
    }

    /// <summary>The probabilities are the softmax of the engine's own logits, computed here the textbook way.</summary>
    [Fact]
    public void Probabilities_AreTheSoftmaxOfTheEngineLogits()
    {
        using var dir = new TempDir();
        var model = IrisModel(dir);
        var csv = TestData.IrisCsv;
        using var predictor = Predictor.Open(model, EngineChoice.Torch);
        var predictions = predictor.PredictFiles([csv], top: 3);
        using var engine = InferenceEngines.Open(model, EngineChoice.Torch);
        using var table = CsvReader.Read(csv, "species");
        var output = InferenceEngines.RunAll(engine, table.Data);
        Assert.Equal(150, predictions.Count);
        for (var i = 0; i < predictions.Count; i++)
        {
            var logits = output.LogitsOf(i).ToArray();
            var sum = logits.Sum(v => Math.Exp(v));
            foreach (var t in predictions[i].Top)
                Assert.Equal(Math.Exp(logits[Array.IndexOf(predictor.Description.ClassNames.ToArray(), t.Class)]) / sum, t.Probability, 1e-12);
            Assert.Equal($"{csv} row {i + 2}", predictions[i].Input);
            Assert.Equal(output.EmbeddingOf(i).ToArray(), predictions[i].Embedding);
        }
    }

    [Fact]
    public void Softmax_HandComputedValues_AndLargeLogitsStayFinite()
    {
        // e^1, e^2, e^3 over their sum.
        var p = ClassProbabilities.Softmax([1f, 2f, 3f]);
        Assert.Equal(0.09003057317038046, p[0], 1e-15);
        Assert.Equal(0.24472847105479767, p[1], 1e-15);
        Assert.Equal(0.6652409557748219, p[2], 1e-15);
        var big = ClassProbabilities.Softmax([1000f, 0f, 1000f]);
        Assert.Equal([0.5, 0.0, 0.5], big);
        var top = ClassProbabilities.Top(big, ["x", "y", "z"], 2);
        Assert.Equal([new ClassProbability("x", 0.5), new ClassProbability("z", 0.5)], top); // ties: the lower index first
        var e = Assert.Throws<ProteaException>(() => ClassProbabilities.Top(big, ["x", "y", "z"], 0));
        Assert.Equal("top", e.Field);
    }

    /// <summary>A CSV's columns are matched to the model's features by name: their order does not matter.</summary>
    [Fact]
    public void PredictFiles_CsvWithColumnsReordered_GivesTheSamePredictions()
    {
        using var dir = new TempDir();
        var model = IrisModel(dir);
        var lines = File.ReadAllLines(TestData.IrisCsv).Select(l => l.Split(',')).ToList();
        int[] order = [3, 4, 1, 0, 2]; // petal_width, species, sepal_width, sepal_length, petal_length
        var reordered = dir.File("reordered.csv");
        File.WriteAllLines(reordered, lines.Select(f => string.Join(",", order.Select(j => f[j]))));
        using var predictor = Predictor.Open(model, EngineChoice.Torch);
        var expected = predictor.PredictFiles([TestData.IrisCsv], top: 3);
        var actual = predictor.PredictFiles([reordered], top: 3);
        Assert.Equal(150, actual.Count);
        for (var i = 0; i < expected.Count; i++) AssertSame(expected[i], actual[i]);
        Assert.True(expected.Select(p => p.Top[0].Probability).Distinct().Count() > 100);

        // Rows given in memory, in yet another column order and with a column the model does not use.
        string[] columns = ["petal_length", "id", "sepal_width", "petal_width", "sepal_length"];
        var rows = lines.Skip(1).Select((f, i) => (IReadOnlyList<double>)new[] { double.Parse(f[2]), i, double.Parse(f[1]), double.Parse(f[3]), double.Parse(f[0]) }).ToList();
        var fromRows = predictor.PredictRows(columns, rows, top: 3);
        for (var i = 0; i < expected.Count; i++) AssertSame(expected[i], fromRows[i]);
    }

    [Fact]
    public void PredictFiles_CsvWithoutAModelColumn_NamesTheColumn()
    {
        using var dir = new TempDir();
        var model = IrisModel(dir);
        var csv = dir.File("three.csv");
        File.WriteAllLines(csv, File.ReadAllLines(TestData.IrisCsv).Select(l => string.Join(",", l.Split(',').Where((_, j) => j != 1))));
        using var predictor = Predictor.Open(model, EngineChoice.Torch);
        var e = Assert.Throws<ProteaException>(() => predictor.PredictFiles([csv]));
        Assert.Equal($"{csv}: no column 'sepal_width'; the model's feature columns are sepal_length, sepal_width, petal_length, petal_width", e.Message);
        e = Assert.Throws<ProteaException>(() => predictor.PredictRows(["sepal_length", "petal_length"], [new[] { 1.0, 2.0 }]));
        Assert.Contains("no columns 'sepal_width', 'petal_width'", e.Message);
    }

    [Fact]
    public void Predictor_GivenTheWrongKindOfInput_SaysWhatTheModelTakes()
    {
        using var dir = new TempDir();
        using var predictor = Predictor.Open(IrisModel(dir), EngineChoice.Torch);
        var e = Assert.Throws<ProteaException>(() => predictor.PredictImage("not read"u8, "x.png"));
        Assert.Equal("the model takes tabular input, not images", e.Message);
        Assert.Equal("top", Assert.Throws<ProteaException>(() => predictor.PredictFiles([TestData.IrisCsv], top: 0)).Field);
    }

    /// <summary>Engines set no process-wide torch state: the thread count is the host's.</summary>
    [Theory]
    [InlineData(EngineChoice.Torch)]
    [InlineData(EngineChoice.Auto)]
    public void OpeningAnEngine_LeavesTorchsThreadCountAlone(EngineChoice engine)
    {
        using var dir = new TempDir();
        var model = IrisModel(dir);
        var before = get_num_threads();
        using (var predictor = Predictor.Open(model, engine, threads: before == 1 ? 2 : 1))
            predictor.PredictFiles([TestData.IrisCsv]);
        Assert.Equal(before, get_num_threads());
    }
}

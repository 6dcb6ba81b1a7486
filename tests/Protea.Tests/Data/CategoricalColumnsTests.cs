using System.Text.Json;
using Protea.Data;
using Protea.Deploy;
using Protea.Models;
using Protea.Predictions;
using Protea.Runs;
using Protea.Training;
using Protea.Tests.Support;

namespace Protea.Tests.Data;

/// <summary>Categorical text columns of a CSV: one-hot encoding, the categories kept with the model, unseen and missing values.</summary>
public sealed class CategoricalColumnsTests
{
    private static float[] Rows(TabularData t) => t.Data.Inputs.data<float>().ToArray();

    private const string Small = "id,size,colour,zone,label\n" +
                                 "a,1.5,red,10,x\n" +
                                 "b,2,blue,9,y\n" +
                                 "c,-3,\"green\",2,x\n" +
                                 "d,4, red ,10,\n";

    [Fact]
    public void Declared_columns_are_one_hot_encoded_in_column_order_matching_hand_values()
    {
        using var dir = new TempDir();
        var path = dir.File("small.csv");
        File.WriteAllText(path, Small);
        using var t = CsvReader.Read(path, categorical: "colour, zone");
        // Categories: text ordinally (blue, green, red), numbers by value (2, 9, 10, not "10" < "2").
        Assert.Equal(["size", "colour=blue", "colour=green", "colour=red", "zone=2", "zone=9", "zone=10"], t.FeatureNames);
        Assert.Equal(new long[] { 4, 7 }, t.Data.Inputs.shape);
        float[] expected =
        [
            1.5f, 0, 0, 1, 0, 0, 1,
            2f, 1, 0, 0, 0, 1, 0,
            -3f, 0, 1, 0, 1, 0, 0,
            4f, 0, 0, 1, 0, 0, 1,
        ];
        Assert.Equal(expected, Rows(t));
        Assert.Equal(["colour", "zone"], t.Categorical!.Select(c => c.Column));
        Assert.Equal(["blue", "green", "red"], t.Categorical![0].Categories);
        Assert.Equal(["2", "9", "10"], t.Categorical![1].Categories);
        Assert.Equal(new long[] { 0, 1, 0, -1 }, t.Data.Labels);

        // Auto: only the column holding text becomes categorical; zone stays a number.
        using var auto = CsvReader.Read(path, categorical: "auto");
        Assert.Equal(["size", "colour=blue", "colour=green", "colour=red", "zone"], auto.FeatureNames);
        Assert.Equal(new float[] { 1.5f, 0, 0, 1, 10, 2f, 1, 0, 0, 9 }, Rows(auto).Take(10));

        // A model's categories applied to other data: same columns, same order, even where a category is absent.
        var other = dir.File("other.csv");
        File.WriteAllText(other, "zone,colour,size,label,id\n9,green,0.5,x,q\n");
        using var fixedEncoding = CsvReader.Read(other, encoding: t.Categorical);
        Assert.Equal(["zone=2", "zone=9", "zone=10", "colour=blue", "colour=green", "colour=red", "size"], fixedEncoding.FeatureNames);
        Assert.Equal(new float[] { 0, 1, 0, 0, 1, 0, 0.5f }, Rows(fixedEncoding));
    }

    [Fact]
    public void Text_not_declared_categorical_unseen_categories_and_missing_values_are_one_line_errors()
    {
        using var dir = new TempDir();
        var path = dir.File("small.csv");
        File.WriteAllText(path, Small);
        var e = Assert.Throws<ProteaException>(() => CsvReader.Read(path));
        Assert.Equal($"{path} row 2: column 'colour' is not a number ('red'); a column of text must be declared categorical to be one-hot encoded", e.Message);
        Assert.Equal("categorical", e.Field);
        e = Assert.Throws<ProteaException>(() => CsvReader.Read(path, categorical: "zone"));
        Assert.Contains("column 'colour' is not a number ('red')", e.Message);
        e = Assert.Throws<ProteaException>(() => CsvReader.Read(path, categorical: "colour,shape"));
        Assert.StartsWith($"{path}: no column 'shape' for categorical values", e.Message);
        Assert.Equal("categorical", e.Field);
        e = Assert.Throws<ProteaException>(() => CsvReader.Read(path, categorical: "label"));
        Assert.Equal($"{path}: column 'label' is the label column, not a categorical feature", e.Message);
        Assert.Equal("categorical", Assert.Throws<ProteaException>(() => DataSpec.Parse(path, new DataSpecOptions { Categorical = "a,,b" })).Field);

        using var t = CsvReader.Read(path, categorical: "colour");
        var unseen = dir.File("unseen.csv");
        File.WriteAllText(unseen, "size,colour,zone,label\n1,red,3,x\n2,purple,4,x\n");
        e = Assert.Throws<ProteaException>(() => CsvReader.Read(unseen, encoding: t.Categorical));
        Assert.Equal($"{unseen} row 3: column 'colour' has the category 'purple', which the model was not trained with; its categories are blue, green, red", e.Message);

        // Missing values: an error naming the row and column, numeric or categorical.
        var missing = dir.File("missing.csv");
        File.WriteAllText(missing, "size,colour,label\n1,red,x\n,blue,y\n");
        e = Assert.Throws<ProteaException>(() => CsvReader.Read(missing, categorical: "colour"));
        Assert.Equal($"{missing} row 3: column 'size' is empty; every feature needs a number (missing values are not supported)", e.Message);
        File.WriteAllText(missing, "size,colour,label\n1,red,x\n2,,y\n");
        e = Assert.Throws<ProteaException>(() => CsvReader.Read(missing, categorical: "auto"));
        Assert.Equal($"{missing} row 3: categorical column 'colour' is empty; every row needs one of its categories (missing values are not supported)", e.Message);
        e = Assert.Throws<ProteaException>(() => CsvReader.Read(missing, encoding: t.Categorical));
        Assert.Equal($"{missing} row 3: categorical column 'colour' is empty; every row needs one of its categories (missing values are not supported)", e.Message);
    }

    /// <summary>The class is the colour (plus noise columns): learnable only through the encoding.</summary>
    private static void WriteColours(string path, int rows, int seed)
    {
        var random = new Random(seed);
        string[] colours = ["red", "green", "blue", "grey"];
        var lines = new List<string> { "noise,colour,shade,label" };
        for (var i = 0; i < rows; i++)
        {
            var c = random.Next(4);
            lines.Add($"{random.NextDouble():F3},{colours[c]},{random.Next(3)},{(c < 2 ? "warm" : "cold")}");
        }
        File.WriteAllLines(path, lines);
    }

    [Fact]
    public void A_model_trained_with_categories_saves_them_and_predicts_from_files_and_text_rows_on_both_engines()
    {
        using var dir = new TempDir();
        var train = dir.File("train.csv");
        WriteColours(train, 200, 1);
        var model = dir.File("model");
        var spec = DataSpec.Parse(train, new DataSpecOptions { Categorical = "colour" });
        var options = new TrainOptions { Architecture = "mlp", Epochs = 15, BatchSize = 32, LearningRate = 0.01, Threads = 1, Seed = 3, ValidationFraction = 0 };
        TrainingRun.Execute(spec, options, model);
        OnnxExporter.Export(model);

        var description = ModelBundle.ReadDescription(model);
        Assert.Equal(["noise", "colour=blue", "colour=green", "colour=grey", "colour=red", "shade"], description.FeatureNames);
        Assert.Equal(new long[] { 6 }, description.InputShape);
        using (var json = JsonDocument.Parse(File.ReadAllText(Path.Combine(model, "model.json"))))
        {
            var categorical = json.RootElement.GetProperty("categorical");
            Assert.Equal("colour", categorical[0].GetProperty("column").GetString());
            Assert.Equal(["blue", "green", "grey", "red"], categorical[0].GetProperty("categories").EnumerateArray().Select(v => v.GetString()!));
        }

        // New data with its columns in another order: the encoding happens before the network on both engines.
        var test = dir.File("test.csv");
        WriteColours(test, 40, 2);
        var lines = File.ReadAllLines(test).Select(l => l.Split(',')).ToList();
        var reordered = dir.File("reordered.csv");
        File.WriteAllLines(reordered, lines.Select(f => string.Join(",", f[3], f[2], f[1], f[0])));
        var truth = lines.Skip(1).Select(f => f[3]).ToList();
        foreach (var engine in new[] { EngineChoice.Torch, EngineChoice.Onnx })
        {
            using var predictor = Predictor.Open(model, engine);
            var predictions = predictor.PredictFiles([reordered]);
            Assert.Equal(40, predictions.Count);
            Assert.True(predictions.Select((p, i) => p.Class == truth[i]).Count(ok => ok) >= 36, $"{engine}: {string.Join(" ", predictions.Select(p => p.Class))}");
            var fromRows = predictor.PredictRows(["label", "shade", "colour", "noise"], lines.Skip(1).Select(f => (IReadOnlyList<string>)[f[3], f[2], f[1], f[0]]).ToList());
            for (var i = 0; i < predictions.Count; i++)
                Assert.Equal(predictions[i].Top, fromRows[i].Top);

            var e = Assert.Throws<ProteaException>(() => predictor.PredictRows(["noise", "colour", "shade"], [["0.5", "purple", "1"]]));
            Assert.Equal("rows row 1: column 'colour' has the category 'purple', which the model was not trained with; its categories are blue, green, grey, red", e.Message);
            e = Assert.Throws<ProteaException>(() => predictor.PredictRows(["noise", "shade"], [["0.5", "1"]]));
            Assert.StartsWith("rows: no column 'colour'", e.Message);
        }

        // eval reads the CSV with the model's categories too.
        var r = CliRunner.Run("eval", "--model", model, "--data", test, "--json", "--threads", "1");
        Assert.True(r.ExitCode == 0, r.Stderr);
        using var metrics = JsonDocument.Parse(r.Stdout);
        Assert.True(metrics.RootElement.GetProperty("accuracy").GetDouble() >= 0.9, r.Stdout);

        // Training without declaring the text column: a one-line CLI error naming the setting's flag.
        var bad = CliRunner.Run("train", "--data", train, "--arch", "mlp", "--epochs", "1", "--out", dir.File("bad"), "--threads", "1");
        Assert.Equal(2, bad.ExitCode);
        Assert.Single(bad.Stderr.Trim().Split('\n'));
        Assert.Contains("column 'colour' is not a number ('red')", bad.Stderr);
    }

    [Fact]
    public void Discover_on_a_csv_with_a_categorical_column_keeps_the_categories_for_predict()
    {
        using var dir = new TempDir();
        var path = dir.File("kinds.csv");
        var random = new Random(4);
        string[] kinds = ["a", "b", "c"];
        var lines = new List<string> { "id,weight,kind,label" };
        for (var i = 0; i < 150; i++)
        {
            var k = i % 3;
            lines.Add($"r{i},{k * 2 + random.NextDouble():F3},{kinds[k]},class{k}");
        }
        File.WriteAllLines(path, lines);
        var outDir = dir.File("gcd");
        var r = CliRunner.Run("discover", "--data", path, "--categorical", "kind", "--hide-labels-of", "class2", "--arch", "mlp",
            "--epochs", "10", "--k", "3", "--out", outDir, "--json", "--threads", "1");
        Assert.True(r.ExitCode == 0, r.Stderr);
        var means = File.ReadAllLines(Path.Combine(outDir, "cluster-means.csv"));
        Assert.Equal("cluster,matches,size,weight,kind=a,kind=b,kind=c", means[0]);
        var model = Path.Combine(outDir, "model");
        Assert.Equal(["a", "b", "c"], ModelBundle.ReadDescription(model).Categorical![0].Categories);
        var p = CliRunner.Run("predict", "--model", model, path, "--json", "--threads", "1");
        Assert.True(p.ExitCode == 0, p.Stderr);

        var bad = CliRunner.Run("discover", "--data", path, "--hide-labels-of", "class2", "--arch", "mlp", "--k", "3", "--out", dir.File("bad"));
        Assert.Equal(2, bad.ExitCode);
        Assert.Contains("column 'kind' is not a number ('a')", bad.Stderr);
    }
}

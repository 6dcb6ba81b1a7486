using Protea.Data;
using Protea.Deploy;
using Protea.Evaluation;
using Protea.Models;
using Protea.Predictions;
using Protea.Tests.Support;
using static TorchSharp.torch;

namespace Protea.Tests.Evaluation;

public sealed class EvaluatorTests
{
    /// <summary>An untrained iris MLP whose class list is in another order than the CSV's sorted one.</summary>
    private static (string Model, ModelDescription Description) ShuffledClassModel(TempDir dir)
    {
        var description = new ModelDescription
        {
            Architecture = "mlp", Head = "linear", InputKind = InputKind.Tabular, InputShape = [4],
            ClassNames = ["virginica", "setosa", "versicolor"],
            FeatureNames = ["sepal_length", "sepal_width", "petal_length", "petal_width"], LabelColumn = "species",
            Normalization = new InputNormalization([5.8, 3.1, 3.8, 1.2], [0.8, 0.4, 1.8, 0.8], 1),
        };
        manual_seed(4);
        using var bundle = new ModelBundle(description, Architectures.Create(description));
        bundle.Save(dir.File("model"));
        return (dir.File("model"), description);
    }

    [Fact]
    public void MapLabels_ByClassName_UnknownClassesBecomeUnlabelled()
    {
        using var dir = new TempDir();
        var (_, description) = ShuffledClassModel(dir);
        using var table = CsvReader.Read(TestData.IrisCsv, "species");
        Assert.Equal(["setosa", "versicolor", "virginica"], table.Data.ClassNames);
        long[] byName = [1, 2, 0]; // setosa, versicolor, virginica in the model's list
        Assert.Equal(table.Data.Labels.Select(l => byName[l]), ModelInputs.MapLabels(table.Data, description));

        var partial = description with { ClassNames = ["versicolor", "setosa"] };
        Assert.Equal(table.Data.Labels.Select(l => l switch { 0 => 1L, 1 => 0L, _ => -1L }), ModelInputs.MapLabels(table.Data, partial));

        var none = description with { ClassNames = ["rose", "tulip", "lily"] };
        var e = Assert.Throws<ProteaException>(() => ModelInputs.MapLabels(table.Data, none));
        Assert.Equal("data", e.Field);
        Assert.Contains("none of its classes", e.Message);
    }

    /// <summary>Evaluator's metrics are the model's arg-max against the data's labels mapped by name, counted here by hand.</summary>
    [Fact]
    public void Evaluate_ScoresAgainstLabelsMappedByName()
    {
        using var dir = new TempDir();
        var (model, description) = ShuffledClassModel(dir);
        var spec = DataSpec.Parse(TestData.IrisCsv, new DataSpecOptions { LabelColumn = "species" });
        var result = Evaluator.Evaluate(model, spec, EngineChoice.Torch);
        Assert.Equal(("torch", "all", TestData.IrisCsv, false), (result.Engine, result.Split, result.Data, result.PassedOverExport));

        using var table = CsvReader.Read(TestData.IrisCsv, "species");
        using var engine = InferenceEngines.Open(model, EngineChoice.Torch);
        var predicted = InferenceEngines.RunAll(engine, table.Data).Predictions();
        var truth = table.Data.Labels.Select(l => Array.IndexOf(description.ClassNames.ToArray(), table.Data.ClassNames[(int)l])).ToArray();
        var confusion = new long[3, 3];
        for (var i = 0; i < truth.Length; i++) confusion[truth[i], predicted[i]]++;
        Assert.Equal(150, result.Report.Count);
        Assert.Equal(truth.Zip(predicted).Count(p => p.First == p.Second) / 150.0, result.Report.Accuracy, 1e-12);
        for (var t = 0; t < 3; t++)
            for (var p = 0; p < 3; p++)
                Assert.Equal(confusion[t, p], result.Report.Confusion[t][p]);
        Assert.Equal(["virginica", "setosa", "versicolor"], result.Report.PerClass.Select(c => c.Class));
    }

    [Fact]
    public void Evaluate_ImageDataOnATabularModel_IsADataError()
    {
        using var dir = new TempDir();
        var (model, _) = ShuffledClassModel(dir);
        Directory.CreateDirectory(dir.File("images/a"));
        TestImages.Write(dir.File("images/a/1.png"), 4, 4, (_, _) => SkiaSharp.SKColors.Red);
        TestImages.Write(dir.File("images/b/1.png"), 4, 4, (_, _) => SkiaSharp.SKColors.Blue);
        var e = Assert.Throws<ProteaException>(() => Evaluator.Evaluate(model, DataSpec.Parse(dir.File("images")), EngineChoice.Torch));
        Assert.Equal("data", e.Field);
        Assert.Contains("image data, but the model takes tabular input", e.Message);
    }
}

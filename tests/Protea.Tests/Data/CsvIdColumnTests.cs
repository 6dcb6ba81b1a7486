using Protea.Data;
using Protea.Models;
using Protea.Runs;
using Protea.Tests.Support;
using Protea.Training;

namespace Protea.Tests.Data;

/// <summary>CSV id columns: found by default, named, or absent; never a feature; rows otherwise named by their row numbers.</summary>
public sealed class CsvIdColumnTests
{
    private static string Write(TempDir dir, params string[] lines)
    {
        var path = dir.File("data.csv");
        File.WriteAllLines(path, lines);
        return path;
    }

    [Fact]
    public void DefaultIdColumn_AnyCase_IsTheIdsAndNotAFeature()
    {
        using var dir = new TempDir();
        var csv = Write(dir, "ID,x,y,label", "s-7,1,2,a", "s-3,3,4,b", "s-9,5,6,a");
        using var table = CsvReader.Read(csv);
        Assert.Equal(["x", "y"], table.FeatureNames);
        Assert.Equal(new long[] { 3, 2 }, table.Data.Inputs.shape);
        Assert.Equal(["s-7", "s-3", "s-9"], table.Data.Ids);
        Assert.Equal("ID", table.IdColumn);
        using var splits = DataSpec.Parse(csv).Load();
        Assert.Equal(["x", "y"], splits.FeatureNames);
        Assert.Equal("ID", splits.IdColumn);
    }

    [Fact]
    public void NamedIdColumn_IsUsed_AndAnIdColumnCalledIdThenIsAFeature()
    {
        using var dir = new TempDir();
        var csv = Write(dir, "sample,id,x,label", "p1,10,1,a", "p2,20,2,b");
        using var table = CsvReader.Read(csv, idColumn: "Sample");
        Assert.Equal(["id", "x"], table.FeatureNames);
        Assert.Equal(["p1", "p2"], table.Data.Ids);
        Assert.Equal(new float[] { 10, 1, 20, 2 }, table.Data.Inputs.flatten().data<float>().ToArray());
    }

    [Fact]
    public void NoIdColumn_RowsAreNamedByTheirRowNumbers()
    {
        using var dir = new TempDir();
        // Row numbers are the file's line numbers (header = 1), as in CsvReader's messages: the blank line counts.
        var csv = Write(dir, "x,label", "1,a", "", "2,b", "\"3\",a");
        using var table = CsvReader.Read(csv);
        Assert.Null(table.IdColumn);
        Assert.Equal(["2", "4", "5"], table.Data.Ids);
        var e = Assert.Throws<ProteaException>(() => CsvReader.Read(Write(dir, "x,label", "1,a", "", "oops,b")));
        Assert.StartsWith($"{dir.File("data.csv")} row 4:", e.Message);

        var withId = Write(dir, "id,x,label", "11,1,a", "12,2,b");
        using var plain = CsvReader.Read(withId, idColumn: CsvReader.NoIdColumn);
        Assert.Equal(["id", "x"], plain.FeatureNames);
        Assert.Equal(["2", "3"], plain.Data.Ids);
    }

    [Fact]
    public void MissingOrBadIds_AreClearErrors()
    {
        using var dir = new TempDir();
        var csv = Write(dir, "x,label", "1,a");
        var e = Assert.Throws<ProteaException>(() => CsvReader.Read(csv, idColumn: "key"));
        Assert.Equal("id_column", e.Field);
        Assert.Equal($"{csv}: no column 'key' for the ids; columns are x, label", e.Message);
        e = Assert.Throws<ProteaException>(() => DataSpec.Parse(csv, new DataSpecOptions { IdColumn = "key" }).Load());
        Assert.Equal("id_column", e.Field);

        e = Assert.Throws<ProteaException>(() => CsvReader.Read(csv, labelColumn: "label", idColumn: "label"));
        Assert.Contains("cannot be both the label and the id column", e.Message);

        csv = Write(dir, "id,x,label", "a,1,a", "b,2,b", "a,3,a");
        e = Assert.Throws<ProteaException>(() => CsvReader.Read(csv));
        Assert.Equal($"{csv} row 4: id 'a' in column 'id' was already used in row 2; ids must be unique", e.Message);
        csv = Write(dir, "id,x,label", "a,1,a", " ,2,b");
        e = Assert.Throws<ProteaException>(() => CsvReader.Read(csv));
        Assert.Equal($"{csv} row 3: id column 'id' is empty; every row needs an id", e.Message);
        csv = Write(dir, "id,label", "a,x");
        e = Assert.Throws<ProteaException>(() => CsvReader.Read(csv));
        Assert.Contains("only the label column 'label' and the id column 'id'", e.Message);
    }

    [Fact]
    public void IdNamedLabel_IsTheLabelNotTheId()
    {
        using var dir = new TempDir();
        var csv = Write(dir, "x,id", "1,a", "2,b");
        using var table = CsvReader.Read(csv, labelColumn: "id");
        Assert.Null(table.IdColumn);
        Assert.Equal(["x"], table.FeatureNames);
        Assert.Equal(["a", "b"], table.Data.ClassNames);
    }

    [Fact]
    public void IdColumnFor_ReadsOldModelsThatTookIdAsAFeatureTheSameWay()
    {
        Assert.Equal(CsvReader.NoIdColumn, CsvReader.IdColumnFor(["Id", "x"]));
        Assert.Null(CsvReader.IdColumnFor(["x"]));
        Assert.Null(CsvReader.IdColumnFor(null));
        Assert.Equal("key", CsvReader.IdColumnFor(["id", "x"], "key"));
    }

    [Fact]
    public void Training_SavesAModelWithoutTheIdFeature_IdsSurviveTheSplits()
    {
        // Ids in class order would leak the label if they were a feature: the model must not see them.
        using var dir = new TempDir();
        var rows = Enumerable.Range(0, 24).Select(i => $"{i},{(i % 2 == 0 ? 0.1 * i : -0.1 * i)},{i % 3},{(i < 12 ? "a" : "b")}");
        var csv = Write(dir, ["id,f1,f2,label", .. rows]);
        var spec = DataSpec.Parse(csv);
        using (var splits = spec.Load())
        {
            var (train, validation) = TrainValidationSplit.Split(splits.Train, 0.25, seed: 1);
            using (train)
            using (validation)
            {
                Assert.Equal(splits.Train.Ids.Order(), train.Ids.Concat(validation.Ids).Order());
                // An id is the value written in its row: f2 = id mod 3.
                var f2 = validation.Inputs[TorchSharp.torch.TensorIndex.Colon, 1].data<float>().ToArray();
                Assert.Equal(validation.Ids.Select(id => (float)(int.Parse(id) % 3)), f2);
            }
        }

        var result = TrainingRun.Execute(spec, new TrainOptions
        {
            Architecture = "mlp", Epochs = 1, BatchSize = 8, Threads = 1, ValidationFraction = 0.25, Limit = 20,
        }, dir.File("run"));
        Assert.Equal(15, result.TrainCount);
        var description = ModelBundle.ReadDescription(dir.File("run"));
        Assert.Equal(["f1", "f2"], description.FeatureNames);
        Assert.Equal(new long[] { 2 }, description.InputShape);
        Assert.Equal("label", description.LabelColumn);
    }
}

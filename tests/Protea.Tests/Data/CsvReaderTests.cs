using System.Globalization;
using Protea.Data;
using Protea.Tests.Support;
using static TorchSharp.torch;

namespace Protea.Tests.Data;

public sealed class CsvReaderTests
{
    private const string IrisPath = "/usr/lib/python3/dist-packages/sklearn/datasets/data/iris.csv";

    private static float[] Row(Dataset data, int row) => data.Inputs[row].data<float>().ToArray();

    [Fact]
    public void Read_QuotedFieldsAndUnlabelledRows_MatchesPythonCsvModule()
    {
        using var dir = new TempDir();
        var path = dir.File("data.csv");
        File.WriteAllText(path,
            "\"sepal, length\",b,species\r\n" +
            "1.5,2,setosa\r\n" +
            "\"3.25\", -4e-1 ,\"a \"\"big\"\" one,\nreally\"\r\n" +
            "\r\n" +
            "5,6,\n" +
            "7,8,\"setosa\"\n");

        using var table = CsvReader.Read(path);
        var data = table.Data;
        Assert.Equal(InputKind.Tabular, data.Kind);
        Assert.Equal(path, data.Source);
        Assert.Equal("species", table.LabelColumn);
        Assert.Equal(new long[] { 4, 2 }, data.Inputs.shape);
        Assert.Equal(ScalarType.Float32, data.Inputs.dtype);
        Assert.Equal(new float[] { 1.5f, 2f }, Row(data, 0));
        Assert.Equal(new float[] { 3.25f, -0.4f }, Row(data, 1));
        Assert.Equal(new float[] { 7f, 8f }, Row(data, 3));

        // Python's csv module (an independent RFC 4180 parser) agrees on the header and the label strings.
        var python = Python.Run("""
            import csv, sys, json
            rows = [r for r in csv.reader(open(sys.argv[1], newline='')) if r]
            print(json.dumps({'header': rows[0], 'labels': sorted({r[2].strip() for r in rows[1:] if r[2].strip()})}))
            """, path);
        var expected = System.Text.Json.JsonDocument.Parse(python).RootElement;
        Assert.Equal(expected.GetProperty("header").EnumerateArray().Select(e => e.GetString()!).Take(2), table.FeatureNames);
        Assert.Equal(expected.GetProperty("labels").EnumerateArray().Select(e => e.GetString()!), data.ClassNames);

        Assert.Equal(new[] { "a \"big\" one,\nreally", "setosa" }, data.ClassNames);
        Assert.Equal(new long[] { 1, 0, -1, 1 }, data.Labels);
    }

    [Fact]
    public void Read_NonNumberCell_NamesRowAndColumn()
    {
        using var dir = new TempDir();
        var path = dir.File("data.csv");
        var lines = new List<string> { "sepal,petal_width,species" };
        for (int i = 0; i < 15; i++) lines.Add($"{i},0.{i},x");   // rows 2..16
        lines.Add("1,abc,y");                                      // row 17
        File.WriteAllLines(path, lines);
        var e = Assert.Throws<ProteaException>(() => CsvReader.Read(path));
        Assert.Equal($"{path} row 17: column 'petal_width' is not a number ('abc'); a column of text must be declared categorical to be one-hot encoded", e.Message);
        Assert.Equal("categorical", e.Field);
    }

    [Fact]
    public void Read_ErrorAfterMultiLineField_CountsEditorLines()
    {
        using var dir = new TempDir();
        var path = dir.File("data.csv");
        File.WriteAllText(path, "a,label\n1,\"two\nlines\"\n2,ok\nNaN?,bad\n");
        var e = Assert.Throws<ProteaException>(() => CsvReader.Read(path));
        Assert.Equal($"{path} row 5: column 'a' is not a number ('NaN?'); a column of text must be declared categorical to be one-hot encoded", e.Message);
    }

    [Fact]
    public void Read_RaggedRow_ReportsFieldCounts()
    {
        using var dir = new TempDir();
        var path = dir.File("data.csv");
        File.WriteAllText(path, "a,b,c,d,label\n1,2,3,4,x\n1,2,3,4,x\n1,2,3,4,y\n1,2,3\n");
        var e = Assert.Throws<ProteaException>(() => CsvReader.Read(path));
        Assert.Equal($"{path} row 5: 3 fields, header has 5", e.Message);
    }

    [Fact]
    public void Read_MissingLabelColumn_ListsColumns()
    {
        using var dir = new TempDir();
        var path = dir.File("data.csv");
        File.WriteAllText(path, "a,b,c\n1,2,3\n");
        var e = Assert.Throws<ProteaException>(() => CsvReader.Read(path, "species"));
        Assert.Equal($"{path}: no column 'species'; columns are a, b, c", e.Message);
    }

    [Theory]
    [InlineData("", "empty file")]
    [InlineData("\n\n", "empty file")]
    [InlineData("a,b,label\n", "header only, no data rows")]
    [InlineData("label\nx\n", "at least one numeric feature column")]
    [InlineData("a,a,label\n1,2,x\n", "column 'a' appears more than once")]
    [InlineData("a,label\n\"1,x\n", "row 2: a quoted field is never closed")]
    [InlineData("a,label\n,x\n", "row 2: column 'a' is empty")]
    [InlineData("a,label\n1e999,x\n", "row 2: column 'a' is not a finite float32 number ('1e999')")]
    public void Read_BadFile_ExplainsProblem(string content, string expected)
    {
        using var dir = new TempDir();
        var path = dir.File("data.csv");
        File.WriteAllText(path, content);
        var e = Assert.Throws<ProteaException>(() => CsvReader.Read(path));
        Assert.StartsWith(path, e.Message);
        Assert.Contains(expected, e.Message);
    }

    [Fact]
    public void Read_LabelColumnChoice_NamedThenConventionalThenLast()
    {
        using var dir = new TempDir();
        var path = dir.File("data.csv");
        File.WriteAllText(path, "x,Class,y\n1,1,10\n2,0,20\n");

        using (var byName = CsvReader.Read(path, "y"))
        {
            Assert.Equal(new[] { "x", "Class" }, byName.FeatureNames);
            Assert.Equal("y", byName.LabelColumn);
            Assert.Equal(new[] { "10", "20" }, byName.Data.ClassNames);
        }
        using (var byCase = CsvReader.Read(path, "class"))
            Assert.Equal("Class", byCase.LabelColumn);
        using (var conventional = CsvReader.Read(path))
        {
            Assert.Equal("Class", conventional.LabelColumn);
            Assert.Equal(new[] { "x", "y" }, conventional.FeatureNames);
            Assert.Equal(new float[] { 1, 10 }, Row(conventional.Data, 0));
            Assert.Equal(new long[] { 1, 0 }, conventional.Data.Labels);
        }
        File.WriteAllText(path, "x,y,z\n1,2,3\n");
        using var last = CsvReader.Read(path);
        Assert.Equal("z", last.LabelColumn);
    }

    [Fact]
    public void Read_Utf8ByteOrderMark_IsNotPartOfFirstColumnName()
    {
        using var dir = new TempDir();
        var path = dir.File("excel.csv");
        File.WriteAllText(path, "weight,label\n2.5,x\n", new System.Text.UTF8Encoding(encoderShouldEmitUTF8Identifier: true));
        Assert.Equal(0xEF, File.ReadAllBytes(path)[0]);
        using var table = CsvReader.Read(path);
        Assert.Equal(new[] { "weight" }, table.FeatureNames);
    }

    [Fact]
    public void Read_NumericLabels_SortByValue()
    {
        using var dir = new TempDir();
        var path = dir.File("data.csv");
        File.WriteAllText(path, "x,label\n1,10\n2,2\n3,1\n4,2\n");
        using var table = CsvReader.Read(path);
        Assert.Equal(new[] { "1", "2", "10" }, table.Data.ClassNames);
        Assert.Equal(new long[] { 2, 1, 0, 1 }, table.Data.Labels);
    }

    [Fact]
    public void Read_SklearnIris_MatchesNumpy()
    {
        // sklearn's iris.csv has an odd header ("150,4,setosa,versicolor,virginica"): read as-is, it has
        // numeric column names, the last column holds the labels 0, 1, 2.
        using var table = CsvReader.Read(IrisPath);
        var data = table.Data;
        Assert.Equal(new[] { "150", "4", "setosa", "versicolor" }, table.FeatureNames);
        Assert.Equal("virginica", table.LabelColumn);
        Assert.Equal(new long[] { 150, 4 }, data.Inputs.shape);
        Assert.Equal(new[] { "0", "1", "2" }, data.ClassNames);
        Assert.All(data.Labels.CountBy(l => l), kv => Assert.Equal(50, kv.Value));

        var numpy = Python.Run("""
            import sys, numpy as np
            a = np.loadtxt(sys.argv[1], delimiter=',', skiprows=1)
            print(' '.join(repr(float(v)) for v in a[:, :4].astype(np.float32).astype(np.float64).sum(axis=0)), ' '.join(str(int(v)) for v in a[:, 4]))
            """, IrisPath).Split(' ', StringSplitOptions.RemoveEmptyEntries);
        var sums = numpy[..4].Select(s => double.Parse(s, CultureInfo.InvariantCulture)).ToArray();
        using var mine = data.Inputs.to_type(ScalarType.Float64).sum(dim: 0);
        for (int j = 0; j < 4; j++)
            Assert.Equal(sums[j], mine[j].item<double>(), 1e-9);
        Assert.Equal(numpy[4..].Select(long.Parse), data.Labels);
    }

    [Fact]
    public void Read_IrisWithNamedHeader_UsesGivenLabelColumn()
    {
        using var dir = new TempDir();
        var path = dir.File("iris.csv");
        var rows = File.ReadAllLines(IrisPath).Skip(1).Select(l => l.Split(','));
        string[] names = ["setosa", "versicolor", "virginica"];
        File.WriteAllLines(path,
            new[] { "species,sepal_length,sepal_width,petal_length,petal_width" }
                .Concat(rows.Select(r => $"{names[int.Parse(r[4])]},{r[0]},{r[1]},{r[2]},{r[3]}")));
        using var table = CsvReader.Read(path, "species");
        Assert.Equal(names, table.Data.ClassNames);
        Assert.Equal(new[] { "sepal_length", "sepal_width", "petal_length", "petal_width" }, table.FeatureNames);
        Assert.Equal(new float[] { 5.1f, 3.5f, 1.4f, 0.2f }, Row(table.Data, 0));
        Assert.Equal(2, table.Data.Labels[149]);
    }
}

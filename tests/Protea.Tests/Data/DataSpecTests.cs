using Protea.Data;
using Protea.Tests.Support;
using SkiaSharp;

namespace Protea.Tests.Data;

public sealed class DataSpecTests
{
    [Fact]
    public void Parse_RecognisesTheThreeKinds()
    {
        using var dir = new TempDir();
        var csv = dir.File("data.CSV");
        File.WriteAllText(csv, "a,label\n1,x\n");

        Assert.Equal(new DataSpec(DataSourceKind.FashionMnist, FashionMnistDataset.DefaultDirectory), DataSpec.Parse("fashion-mnist"));
        Assert.Equal(new DataSpec(DataSourceKind.ImageFolder, dir.Path, ImageSize: 32, Channels: 3),
            DataSpec.Parse(dir.Path, new DataSpecOptions { ImageSize = 32, Channels = 3 }));
        Assert.Equal(new DataSpec(DataSourceKind.Csv, csv, LabelColumn: "label"), DataSpec.Parse(csv, new DataSpecOptions { LabelColumn = "label" }));
        Assert.Equal(new DataSpec(DataSourceKind.Csv, csv) { IdColumn = "key", Classes = "0-1" },
            DataSpec.Parse(csv, new DataSpecOptions { IdColumn = "key", Classes = "0-1" }));
    }

    [Fact]
    public void Parse_Unknown_SaysWhatDataCanBe()
    {
        var e = Assert.Throws<ProteaException>(() => DataSpec.Parse("no/such/thing"));
        Assert.StartsWith("no/such/thing: not 'fashion-mnist', a directory of class folders or a .csv file", e.Message);
        Assert.Equal("data", e.Field);

        using var dir = new TempDir();
        var txt = dir.File("data.txt");
        File.WriteAllText(txt, "a,b\n");
        e = Assert.Throws<ProteaException>(() => DataSpec.Parse(txt));
        Assert.StartsWith($"{txt}: not 'fashion-mnist', a directory of class folders or a .csv file", e.Message);
        Assert.Equal("data", e.Field);
    }

    [Fact]
    public void Parse_OptionsThatDoNotFit_AreUserErrors()
    {
        using var dir = new TempDir();
        var csv = dir.File("data.csv");
        File.WriteAllText(csv, "a,label\n1,x\n");
        void Fails(string spec, DataSpecOptions options, string field, string text)
        {
            var e = Assert.Throws<ProteaException>(() => DataSpec.Parse(spec, options));
            Assert.Equal(field, e.Field);
            Assert.Contains(text, e.Message);
            Assert.DoesNotContain("--", e.Message); // library messages name settings, not CLI flags
        }
        Fails(dir.Path, new() { LabelColumn = "species" }, "label_column", "label column 'species': only CSV data has a label column");
        Fails(dir.Path, new() { IdColumn = "key" }, "id_column", "id column 'key': only CSV data has an id column");
        Fails(csv, new() { ImageSize = 28 }, "image_size", "image size and channels apply to images");
        Fails(csv, new() { Channels = 3 }, "channels", "image size and channels apply to images");
        Fails(dir.Path, new() { Channels = 2 }, "channels", "channels 2: must be 1 (grayscale) or 3 (RGB)");
        Fails(dir.Path, new() { ImageSize = 0 }, "image_size", "image size 0: must be between 1 and 4096");
        Fails(dir.Path, new() { Classes = " , " }, "classes", "class subset ' , ' names no class");
        Fails(dir.Path, new() { Classes = "4-2" }, "classes", "class index range '4-2' runs backwards");
        Fails("", new(), "data", "no data given");
    }

    [Fact]
    public void Load_Csv_CarriesFeatureNames()
    {
        using var dir = new TempDir();
        var csv = dir.File("data.csv");
        File.WriteAllText(csv, "height,weight,kind\n1,2,a\n3,4,b\n");
        using var splits = DataSpec.Parse(csv, new DataSpecOptions { LabelColumn = "kind" }).Load();
        Assert.Equal(new[] { "height", "weight" }, splits.FeatureNames);
        Assert.Equal(new[] { "a", "b" }, splits.Train.ClassNames);
        Assert.Null(splits.Test);
    }

    [Fact]
    public void Load_ImageFolder_AppliesSizeAndChannels()
    {
        using var dir = new TempDir();
        Directory.CreateDirectory(dir.File("red"));
        using (var bitmap = new SKBitmap(new SKImageInfo(6, 6, SKColorType.Rgba8888, SKAlphaType.Opaque)))
        {
            bitmap.Erase(new SKColor(255, 0, 0));
            using var png = bitmap.Encode(SKEncodedImageFormat.Png, 100);
            File.WriteAllBytes(dir.File("red/1.png"), png.ToArray());
        }
        using var splits = DataSpec.Parse(dir.Path, new DataSpecOptions { ImageSize = 3, Channels = 1 }).Load();
        Assert.Equal(new long[] { 1, 1, 3, 3 }, splits.Train.Inputs.shape);
        Assert.Null(splits.FeatureNames);
        // PIL's luma of pure red: 255 * 19595 / 65536 rounded = 76.
        Assert.All(splits.Train.Inputs.data<byte>().ToArray(), v => Assert.Equal(76, v));
    }
}

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
            DataSpec.Parse(dir.Path, imageSize: 32, channels: 3));
        Assert.Equal(new DataSpec(DataSourceKind.Csv, csv, LabelColumn: "label"), DataSpec.Parse(csv, "label"));
    }

    [Fact]
    public void Parse_Unknown_SaysWhatDataCanBe()
    {
        var e = Assert.Throws<ProteaException>(() => DataSpec.Parse("no/such/thing"));
        Assert.StartsWith("--data no/such/thing: not 'fashion-mnist', a directory of class folders or a .csv file", e.Message);

        using var dir = new TempDir();
        var txt = dir.File("data.txt");
        File.WriteAllText(txt, "a,b\n");
        e = Assert.Throws<ProteaException>(() => DataSpec.Parse(txt));
        Assert.StartsWith($"--data {txt}: not 'fashion-mnist', a directory of class folders or a .csv file", e.Message);
    }

    [Fact]
    public void Parse_OptionsThatDoNotFit_AreUserErrors()
    {
        using var dir = new TempDir();
        var csv = dir.File("data.csv");
        File.WriteAllText(csv, "a,label\n1,x\n");
        Assert.Contains("--label", Assert.Throws<ProteaException>(() => DataSpec.Parse(dir.Path, "species")).Message);
        Assert.Contains("--image-size", Assert.Throws<ProteaException>(() => DataSpec.Parse(csv, imageSize: 28)).Message);
        Assert.Contains("--channels 2", Assert.Throws<ProteaException>(() => DataSpec.Parse(dir.Path, channels: 2)).Message);
        Assert.Contains("--image-size 0", Assert.Throws<ProteaException>(() => DataSpec.Parse(dir.Path, imageSize: 0)).Message);
    }

    [Fact]
    public void Load_Csv_CarriesFeatureNames()
    {
        using var dir = new TempDir();
        var csv = dir.File("data.csv");
        File.WriteAllText(csv, "height,weight,kind\n1,2,a\n3,4,b\n");
        using var splits = DataSpec.Parse(csv, "kind").Load();
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
        using var splits = DataSpec.Parse(dir.Path, imageSize: 3, channels: 1).Load();
        Assert.Equal(new long[] { 1, 1, 3, 3 }, splits.Train.Inputs.shape);
        Assert.Null(splits.FeatureNames);
        // PIL's luma of pure red: 255 * 19595 / 65536 rounded = 76.
        Assert.All(splits.Train.Inputs.data<byte>().ToArray(), v => Assert.Equal(76, v));
    }
}

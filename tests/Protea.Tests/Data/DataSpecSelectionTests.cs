using Protea.Data;
using Protea.Tests.Support;
using SkiaSharp;

namespace Protea.Tests.Data;

/// <summary>Class subsets, unlabelled folders and image ids, read through <see cref="DataSpec"/> as train and eval do.</summary>
public sealed class DataSpecSelectionTests
{
    /// <summary>A gray image whose every pixel is <paramref name="value"/>, so each image can be told apart after loading.</summary>
    private static void Gray(string path, byte value) => TestImages.Write(path, 2, 2, (_, _) => new SKColor(value, value, value), gray: true);

    /// <summary>
    /// classes a..e with 1..5 images in train/ (class k has k+1), one image each in test/, and an unlabelled/
    /// folder in train/ with 2 images. Pixel value = 10 * class + image number (unlabelled: 200 + n).
    /// </summary>
    private static TempDir FiveClassTree()
    {
        var dir = new TempDir();
        string[] names = ["a", "b", "c", "d", "e"];
        for (int k = 0; k < names.Length; k++)
        {
            for (int n = 0; n <= k; n++) Gray(dir.File($"train/{names[k]}/{n}.png"), (byte)(10 * k + n));
            Gray(dir.File($"test/{names[k]}/t.png"), (byte)(10 * k + 9));
        }
        Gray(dir.File("train/unlabelled/u0.png"), 200);
        Gray(dir.File("train/unlabelled/u1.png"), 201);
        return dir;
    }

    private static int[] Pixels(Dataset d) => Enumerable.Range(0, d.Count).Select(i => (int)d.Inputs[i, 0, 0, 0].item<byte>()).ToArray();

    [Fact]
    public void Classes_ByIndexRange_LoadsExactlyThoseClassesRelabelled()
    {
        using var dir = FiveClassTree();
        using var splits = DataSpec.Parse(dir.Path, new DataSpecOptions { Classes = "3-4,1" }).Load();
        Assert.Equal(["b", "d", "e"], splits.Train.ClassNames);
        Assert.Equal(["b", "d", "e"], splits.Test!.ClassNames);
        // b has 2 images, d 4, e 5, plus the 2 unlabelled (kept: they belong to no class).
        Assert.Equal(2 + 4 + 5 + 2, splits.Train.Count);
        Assert.Equal(2, splits.Train.Labels.Count(l => l == 0));
        Assert.Equal(4, splits.Train.Labels.Count(l => l == 1));
        Assert.Equal(5, splits.Train.Labels.Count(l => l == 2));
        Assert.Equal(2, splits.Train.Labels.Count(l => l == -1));
        Assert.Equal(new long[] { 0, 1, 2 }, splits.Test.Labels);
        Assert.Equal([19, 39, 49], Pixels(splits.Test));
        // Each label matches the class the pixel value was written for.
        string[] original = ["a", "b", "c", "d", "e"];
        foreach (var (label, pixel) in splits.Train.Labels.Zip(Pixels(splits.Train)))
            Assert.Equal(pixel >= 200 ? "unlabelled" : original[pixel / 10], label < 0 ? "unlabelled" : splits.Train.ClassNames[(int)label]);
    }

    [Fact]
    public void Classes_ByName_LoadsTheSameAsByIndex()
    {
        using var dir = FiveClassTree();
        using var byName = DataSpec.Parse(dir.Path, new DataSpecOptions { Classes = "e,b,d" }).Load();
        using var byIndex = DataSpec.Parse(dir.Path, new DataSpecOptions { Classes = "1,3-4" }).Load();
        Assert.Equal(byIndex.Train.ClassNames, byName.Train.ClassNames);
        Assert.Equal(byIndex.Train.Labels, byName.Train.Labels);
        Assert.Equal(byIndex.Train.Ids, byName.Train.Ids);
        Assert.Equal(Pixels(byIndex.Train), Pixels(byName.Train));
    }

    [Fact]
    public void Classes_OtherFoldersAreNotRead()
    {
        using var dir = FiveClassTree();
        File.WriteAllText(dir.File("train/c/broken.png"), "not a picture");
        Assert.Throws<ProteaException>(() => DataSpec.Parse(dir.Path).Load()); // the broken file does fail when read
        using var splits = DataSpec.Parse(dir.Path, new DataSpecOptions { Classes = "a,b" }).Load();
        Assert.Equal(1 + 2 + 2, splits.Train.Count);
    }

    [Fact]
    public void Classes_UnknownOrEmpty_AreClearErrors()
    {
        using var dir = FiveClassTree();
        var e = Assert.Throws<ProteaException>(() => DataSpec.Parse(dir.Path, new DataSpecOptions { Classes = "a,zebra" }).Load());
        Assert.Equal("classes", e.Field);
        Assert.Equal("class 'zebra' is not a class of the data; classes: 0 a, 1 b, 2 c, 3 d, 4 e", e.Message);
        e = Assert.Throws<ProteaException>(() => DataSpec.Parse(dir.Path, new DataSpecOptions { Classes = "5" }).Load());
        Assert.Equal("class index 5 is out of range: the data has 5 classes: 0 a, 1 b, 2 c, 3 d, 4 e", e.Message);
        e = Assert.Throws<ProteaException>(() => DataSpec.Parse(dir.Path, new DataSpecOptions { Classes = "," }));
        Assert.Equal("classes", e.Field);
        Assert.Contains("names no class", e.Message);

        // A class that exists only in train/ has no test examples to evaluate on.
        Gray(dir.File("train/f/0.png"), 1);
        e = Assert.Throws<ProteaException>(() => DataSpec.Parse(dir.Path, new DataSpecOptions { Classes = "f" }).LoadEvaluationSet());
        Assert.Equal("classes", e.Field);
        Assert.Equal($"{dir.File("test")}: no examples of the classes 'f' (f)", e.Message);
    }

    [Fact]
    public void Unlabelled_ItemsGetMinusOne_AndAreNotAClass()
    {
        using var dir = new TempDir();
        Gray(dir.File("cat/1.png"), 1);
        Gray(dir.File("dog/1.png"), 2);
        Gray(dir.File("dog/2.png"), 3);
        Gray(dir.File("unlabelled/x.png"), 4);
        Gray(dir.File("unlabelled/deep/y.png"), 5);
        using var splits = DataSpec.Parse(dir.Path).Load();
        var data = splits.Train;
        Assert.Equal(["cat", "dog"], data.ClassNames);
        Assert.Equal(["cat/1.png", "dog/1.png", "dog/2.png", "unlabelled/deep/y.png", "unlabelled/x.png"], data.Ids);
        Assert.Equal(new long[] { 0, 1, 1, -1, -1 }, data.Labels);
        Assert.Equal([1, 2, 3, 5, 4], Pixels(data));
    }

    [Fact]
    public void Unlabelled_AloneIsNoClassFolder()
    {
        using var dir = new TempDir();
        Gray(dir.File("unlabelled/x.png"), 4);
        var e = Assert.Throws<ProteaException>(() => DataSpec.Parse(dir.Path).Load());
        Assert.StartsWith($"{dir.Path}: no class folders", e.Message);
    }

    [Fact]
    public void Ids_ArePathsRelativeToTheDataRoot()
    {
        using var dir = FiveClassTree();
        using var splits = DataSpec.Parse(dir.Path).Load();
        Assert.Equal(["train/a/0.png", "train/b/0.png", "train/b/1.png"], splits.Train.Ids.Take(3));
        Assert.Equal(["train/unlabelled/u0.png", "train/unlabelled/u1.png"], splits.Train.Ids.TakeLast(2));
        Assert.Equal(["test/a/t.png", "test/b/t.png", "test/c/t.png", "test/d/t.png", "test/e/t.png"], splits.Test!.Ids);
        Assert.Equal(splits.Train.Count, splits.Train.Ids.Distinct().Count());
    }

    [Fact]
    public void EvaluationSet_ReadsOnlyTest_EvenWhenTrainHoldsABrokenImage()
    {
        using var dir = FiveClassTree();
        File.WriteAllText(dir.File("train/c/broken.png"), "not a picture");
        Gray(dir.File("train/z/0.png"), 7); // a class only train/ has: still in the class list, so indices match training
        var load = Assert.Throws<ProteaException>(() => DataSpec.Parse(dir.Path).Load());
        Assert.Contains("broken.png", load.Message);

        var (data, isTest) = DataSpec.Parse(dir.Path).LoadEvaluationSet();
        using (data)
        {
            Assert.True(isTest);
            Assert.Equal(["a", "b", "c", "d", "e", "z"], data.ClassNames);
            Assert.Equal(new long[] { 0, 1, 2, 3, 4 }, data.Labels);
            Assert.Equal([9, 19, 29, 39, 49], Pixels(data));
            Assert.All(data.Ids, id => Assert.StartsWith("test/", id));
        }

        var (subset, _) = DataSpec.Parse(dir.Path, new DataSpecOptions { Classes = "3-4" }).LoadEvaluationSet();
        using (subset)
        {
            Assert.Equal(["d", "e"], subset.ClassNames);
            Assert.Equal([39, 49], Pixels(subset));
        }
    }

    [Fact]
    public void EvaluationSet_WithoutTestFolder_IsEverything()
    {
        using var dir = new TempDir();
        Gray(dir.File("cat/1.png"), 1);
        Gray(dir.File("dog/1.png"), 2);
        var (data, isTest) = DataSpec.Parse(dir.Path).LoadEvaluationSet();
        using (data)
        {
            Assert.False(isTest);
            Assert.Equal(["cat/1.png", "dog/1.png"], data.Ids);
        }
    }

    [Fact]
    public void Csv_Classes_KeepThoseRowsAndUnlabelled()
    {
        using var dir = new TempDir();
        var csv = dir.File("d.csv");
        File.WriteAllLines(csv, ["x,label", "1,b", "2,a", "3,c", "4,", "5,b", "6,a"]);
        using var splits = DataSpec.Parse(csv, new DataSpecOptions { Classes = "b,0" }).Load();
        Assert.Equal(["a", "b"], splits.Train.ClassNames);
        Assert.Equal(["2", "3", "5", "6", "7"], splits.Train.Ids); // row numbers, header = row 1
        Assert.Equal(new long[] { 1, 0, -1, 1, 0 }, splits.Train.Labels);
        Assert.Equal(new float[] { 1, 2, 4, 5, 6 }, splits.Train.Inputs.flatten().data<float>().ToArray());
    }

    [Fact]
    public void FashionMnist_Classes_OnTheEvaluationSet()
    {
        var (data, isTest) = DataSpec.Parse(DataSpec.FashionMnistName, new DataSpecOptions { Classes = "Trouser,9" }).LoadEvaluationSet();
        using (data)
        {
            Assert.True(isTest);
            Assert.Equal(["Trouser", "Ankle boot"], data.ClassNames);
            Assert.Equal(2000, data.Count); // the official test set has 1000 of each class
            Assert.Equal(1000, data.Labels.Count(l => l == 0));
            Assert.All(data.Ids, id => Assert.StartsWith("test/", id));
            // The ids are the indices in the official file: check them against its labels.
            var (images, allLabels) = Support.FashionMnist.FirstTestImages(10000);
            images.Dispose();
            for (int i = 0; i < data.Count; i += 97)
                Assert.Equal(data.Labels[i] == 0 ? 1 : 9, allLabels[int.Parse(data.Ids[i]["test/".Length..])]);
        }
    }
}

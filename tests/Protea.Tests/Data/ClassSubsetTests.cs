using Protea.Data;

namespace Protea.Tests.Data;

public sealed class ClassSubsetTests
{
    private static readonly string[] Classes = ["airplane", "bird", "cat", "deer", "dog", "frog", "horse", "ship"];

    [Theory]
    [InlineData("0-4", new[] { 0, 1, 2, 3, 4 })]
    [InlineData("0-4,7", new[] { 0, 1, 2, 3, 4, 7 })]
    [InlineData("7, 0 - 1", new[] { 0, 1, 7 })]          // order written does not matter: class-list order
    [InlineData("3", new[] { 3 })]
    [InlineData("cat,dog", new[] { 2, 4 })]
    [InlineData("dog,cat", new[] { 2, 4 })]
    [InlineData("Ship, 0", new[] { 0, 7 })]              // names any case when unambiguous, mixed with indices
    [InlineData("2-3,cat,deer", new[] { 2, 3 })]         // overlaps count once
    public void Resolve_IndicesRangesAndNames(string text, int[] expected) =>
        Assert.Equal(expected, ClassSubset.Parse(text).Resolve(Classes));

    [Fact]
    public void Resolve_UnknownName_NamesItAndListsTheClasses()
    {
        var e = Assert.Throws<ProteaException>(() => ClassSubset.Parse("cat,cow").Resolve(Classes));
        Assert.Equal("classes", e.Field);
        Assert.StartsWith("class 'cow' is not a class of the data; classes: 0 airplane, 1 bird, 2 cat,", e.Message);
        Assert.EndsWith("7 ship", e.Message);
    }

    [Fact]
    public void Resolve_IndexOutOfRange_SaysHowManyClassesThereAre()
    {
        var e = Assert.Throws<ProteaException>(() => ClassSubset.Parse("6-9").Resolve(Classes));
        Assert.Equal("classes", e.Field);
        Assert.StartsWith("class index 9 is out of range: the data has 8 classes: 0 airplane,", e.Message);
        e = Assert.Throws<ProteaException>(() => ClassSubset.Parse("12").Resolve(Classes));
        Assert.StartsWith("class index 12 is out of range", e.Message);
    }

    [Fact]
    public void Resolve_AmbiguousCaseOnlyMatch_IsUnknown()
    {
        var e = Assert.Throws<ProteaException>(() => ClassSubset.Parse("CAT").Resolve(["cat", "Cat"]));
        Assert.Contains("class 'CAT' is not a class", e.Message);
        Assert.Equal([1], ClassSubset.Parse("Cat").Resolve(["cat", "Cat"]));
    }

    [Theory]
    [InlineData("", "names no class")]
    [InlineData(" , ,", "names no class")]
    [InlineData("5-2", "runs backwards")]
    [InlineData("99999999999", "too large")]
    public void Parse_BadWriting_IsAUserError(string text, string why)
    {
        var e = Assert.Throws<ProteaException>(() => ClassSubset.Parse(text));
        Assert.Equal("classes", e.Field);
        Assert.Contains(why, e.Message);
    }
}

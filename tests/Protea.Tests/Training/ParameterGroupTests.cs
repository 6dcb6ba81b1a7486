using Protea.Models;
using Protea.Training;

namespace Protea.Tests.Training;

public sealed class ParameterGroupTests
{
    [Theory]
    [InlineData("backbone.*", "backbone.conv1.weight", true)]
    [InlineData("backbone.*", "head.weight", false)]
    [InlineData("*.bias", "backbone.layer1.0.bn1.bias", true)]
    [InlineData("*.bias", "head.weight", false)]
    [InlineData("head.weight", "head.weight", true)]
    [InlineData("head.weight", "head.weights", false)]
    [InlineData("backbone.*.bn*.weight", "backbone.block1.bn2.weight", true)]
    public void Pattern_MatchesPyTorchNames(string pattern, string name, bool expected) =>
        Assert.Equal(expected, new ParameterGroup(pattern).Matches(name));

    [Fact]
    public void Assign_FreezesSplitsAndScales_FirstMatchWins()
    {
        using var model = new Classifier(new ReferenceCnn(1), new LinearHead(128, 10));
        var options = new TrainOptions { LearningRate = 0.1, WeightDecay = 5e-4 };
        var groups = ParameterGroup.Assign(model,
        [
            new ParameterGroup("head.weight") { LearningRate = 0.01, WeightDecay = 0 },
            new ParameterGroup("head.*") { LearningRateScale = 3 },
            ParameterGroup.Freeze("backbone.*"),
        ], options);
        Assert.Equal(2, groups.Count); // no parameter is left for the run's default group
        Assert.Equal(["head.weight"], groups[0].Parameters.Select(p => p.Name));
        Assert.Equal(0.1, groups[0].LearningRateScale, 1e-12);
        Assert.Equal(0, groups[0].WeightDecay);
        Assert.Equal(["head.bias"], groups[1].Parameters.Select(p => p.Name));
        Assert.Equal(3, groups[1].LearningRateScale);
        Assert.Equal(5e-4, groups[1].WeightDecay);
        foreach (var (name, p) in model.named_parameters())
            Assert.Equal(!name.StartsWith("backbone.", StringComparison.Ordinal), p.requires_grad);
    }

    [Fact]
    public void Assign_UnfreezesWhatANewRunDoesNotFreeze()
    {
        using var model = new Classifier(new ReferenceCnn(1), new LinearHead(128, 10));
        ParameterGroup.Assign(model, [ParameterGroup.Freeze("*")], new TrainOptions());
        var groups = ParameterGroup.Assign(model, [], new TrainOptions());
        Assert.Single(groups);
        Assert.All(model.parameters(), p => Assert.True(p.requires_grad));
    }

    [Fact]
    public void Assign_RefusesAPatternThatMatchesNothing()
    {
        using var model = new Classifier(new ReferenceCnn(1), new LinearHead(128, 10));
        var e = Assert.Throws<ProteaException>(() => ParameterGroup.Assign(model, [ParameterGroup.Freeze("backbon.*")], new TrainOptions()));
        Assert.Equal("parameter_groups", e.Field);
        Assert.Contains("'backbon.*' matches no parameter", e.Message);
        Assert.Contains("backbone.*", e.Message);
    }
}

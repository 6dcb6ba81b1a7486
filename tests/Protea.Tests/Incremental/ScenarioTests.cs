using Protea.Data;
using Protea.Incremental;
using static TorchSharp.torch;

namespace Protea.Tests.Incremental;

public class ScenarioTests
{
    [Fact]
    public void Equal_tasks_and_base_plus_increments()
    {
        var b0 = Scenario.Build(10, 5, null, null, null, seed: 1);
        Assert.Equal([2, 2, 2, 2, 2], b0.TaskSizes);
        Assert.Equal(10, b0.ClassOrder.Distinct().Count());
        Assert.Equal("B0-Inc2 (5 tasks)", b0.Describe());
        var fscil = Scenario.Build(10, 5, 6, 1, 5, seed: 1);
        Assert.Equal([6, 1, 1, 1, 1], fscil.TaskSizes);
        Assert.Equal(10, fscil.ClassOrder.Count);
        Assert.Equal("B6-Inc1 5-shot (5 tasks)", fscil.Describe());
        Assert.Equal(b0.ClassOrder, Scenario.Build(10, 5, null, null, null, seed: 1).ClassOrder);
        Assert.NotEqual(b0.ClassOrder, Scenario.Build(10, 5, null, null, null, seed: 2).ClassOrder);
        var e = Assert.Throws<ProteaException>(() => Scenario.Build(10, 5, 6, 2, null, 0));
        Assert.Equal("tasks", e.Field);
    }

    [Fact]
    public void Step_data_is_relabelled_by_position_and_few_shot_takes_k_per_class()
    {
        // 4 classes, 10 items each.
        var labels = Enumerable.Range(0, 40).Select(i => (long)(i % 4)).ToArray();
        using var data = new Dataset(zeros([40, 1, 2, 2], ScalarType.Byte), labels, ["a", "b", "c", "d"], InputKind.Image, "toy");
        var s = Scenario.Build(4, 3, 2, 1, 3, seed: 5);
        using var first = s.TrainingData(data, 0);
        Assert.Equal(20, first.Count);
        Assert.Equal(s.ClassOrder.Take(2).Select(c => data.ClassNames[c]), first.ClassNames);
        // Every item keeps its class: the name at its new label is the name at its old one.
        foreach (var (id, label) in first.Ids.Zip(first.Labels))
            Assert.Equal(data.ClassNames[(int)data.Labels[int.Parse(id)]], first.ClassNames[(int)label]);
        using var second = s.TrainingData(data, 1);
        Assert.Equal(3, second.Count);
        Assert.All(second.Labels, l => Assert.Equal(2, l));
        Assert.Equal(3, second.ClassNames.Count);
        using var test = s.TestData(data, 2);
        Assert.Equal(40, test.Count);
        using var joint = s.SeenTrainingData(data, 2);
        Assert.Equal(20 + 3 + 3, joint.Count);
    }
}

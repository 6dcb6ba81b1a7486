using Protea.Data;
using Protea.Incremental;
using Protea.Tests.Support;
using TorchSharp;

namespace Protea.Tests.Incremental;

public class IncrementalEndToEndTests
{
    [Fact]
    public void Finetune_forgets_the_old_classes_and_ncm_keeps_them()
    {
        using var train = FashionMnist.Dataset(2000);
        using var test = FashionMnist.Dataset(1000, train: false);
        var scenario = Scenario.Build(10, 2, 2, 2, null, seed: 0) with { };
        var options = new IncrementalOptions { Epochs = 2, BatchSize = 16, Seed = 0 };
        IncrementalResult Run(string name)
        {
            torch.manual_seed(0);
            using var method = IncrementalMethods.Create(name, options);
            return IncrementalRun.RunOne(method, train, test, scenario, perClass: 100, testPerClass: null);
        }
        var finetune = Run("finetune");
        var ncm = Run("ncm");
        // After the second step: finetune has overwritten the first task's classes, ncm has kept its class means.
        Assert.True(finetune.AccuracyMatrix[0][0] > 0.8, $"finetune learned the first task: {finetune.AccuracyMatrix[0][0]}");
        Assert.True(finetune.Steps[1].OldAccuracy < 0.25, $"finetune old accuracy {finetune.Steps[1].OldAccuracy}");
        Assert.True(ncm.Steps[1].OldAccuracy > 0.6, $"ncm old accuracy {ncm.Steps[1].OldAccuracy}");
        Assert.True(ncm.AverageForgetting < finetune.AverageForgetting - 0.3, $"forgetting ncm {ncm.AverageForgetting}, finetune {finetune.AverageForgetting}");
        Assert.Equal(2, ncm.AccuracyMatrix.Count);
    }
}

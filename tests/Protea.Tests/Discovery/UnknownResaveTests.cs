using Protea.Discovery;
using Protea.Models;
using Protea.Tests.Support;

namespace Protea.Tests.Discovery;

public sealed class UnknownResaveTests
{
    [Fact]
    public void Saving_a_loaded_model_into_another_folder_keeps_its_calibration_unless_the_weights_changed()
    {
        using var dir = new TempDir();
        var model = UnknownCalibrationTests.IrisModel(dir);
        var r = CliRunner.Run("calibrate-unknown", "--model", model, "--data", TestData.IrisCsv, "--label", "species", "--scorer", "mahalanobis", "--threads", "1");
        Assert.True(r.ExitCode == 0, r.Stderr);
        var calibrated = ModelBundle.ReadDescription(model).Unknown!;

        var copy = dir.File("copy");
        using (var bundle = ModelBundle.Load(model)) bundle.Save(copy);
        var kept = ModelBundle.ReadDescription(copy);
        Assert.Equal(calibrated.Threshold, kept.Unknown!.Threshold);
        Assert.Equal(calibrated.TensorsSha256, kept.Unknown.TensorsSha256);
        using (var detector = UnknownDetector.Load(copy, kept)) // the statistics came along and pass their SHA-256 check
            Assert.Equal("mahalanobis", detector!.Scorer.Name);

        // Changed weights invalidate the calibration: it is dropped.
        var changed = dir.File("changed");
        using (var bundle = ModelBundle.Load(model))
        {
            using (TorchSharp.torch.no_grad()) bundle.Model.parameters().First().add_(1.0);
            bundle.Save(changed);
        }
        Assert.Null(ModelBundle.ReadDescription(changed).Unknown);
    }

    [Fact]
    public void The_mahalanobis_shrinkage_is_a_cli_setting_checked_in_range()
    {
        using var dir = new TempDir();
        var model = UnknownCalibrationTests.IrisModel(dir);
        var r = CliRunner.Run("calibrate-unknown", "--model", model, "--data", TestData.IrisCsv, "--label", "species", "--scorer", "mahalanobis", "--shrinkage", "0.3", "--threads", "1");
        Assert.True(r.ExitCode == 0, r.Stderr);
        Assert.Equal(0.3, ModelBundle.ReadDescription(model).Unknown!.Settings!["shrinkage"]!.GetValue<double>());
        var bad = CliRunner.Run("calibrate-unknown", "--model", model, "--data", TestData.IrisCsv, "--label", "species", "--scorer", "mahalanobis", "--shrinkage", "2", "--threads", "1");
        Assert.Equal(2, bad.ExitCode);
        Assert.Equal("protea: --shrinkage: shrinkage 2: must be between 0 and 1", bad.Stderr.Trim());
    }
}

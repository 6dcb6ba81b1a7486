using System.Text.Json;
using Protea.Models;
using Protea.Search;
using Protea.Tests.Search;
using Protea.Tests.Support;

namespace Protea.Tests.Metric;

/// <summary>`train --keep-index` then `predict --explain`: the kept index round-trips, evidence is of the predicted class, a damaged index is refused.</summary>
public sealed class KeepIndexTests
{
    [Fact]
    public void KeepIndex_RoundTrip_ExplainsWithNearestTrainingItemsOfThePredictedClass()
    {
        using var dir = new TempDir();
        var trainFiles = SearchFixture.WriteImageFolder(dir.File("data"), 48);
        var run = dir.File("run");
        var t = CliRunner.Run("train", "--data", dir.File("data"), "--out", run, "--epochs", "1", "--batch-size", "12", "--lr", "0.01", "--validation", "0",
            "--keep-index", "--threads", "2", "--json");
        Assert.True(t.ExitCode == 0, t.Stderr);
        var description = ModelBundle.ReadDescription(run);
        Assert.Equal(new TrainingIndexDescription("train.index", description.TrainingIndex!.Sha256, trainFiles.Count), description.TrainingIndex);
        using (var index = EmbeddingIndex.Load(Path.Combine(run, "train.index"))) index.CheckModel(run, "train.index");

        var r = CliRunner.Run(["predict", "--model", run, "--explain", "--json", "--engine", "torch", "--threads", "1", .. trainFiles]);
        Assert.True(r.ExitCode == 0, r.Stderr);
        using var doc = JsonDocument.Parse(r.Stdout);
        var selfFound = 0;
        foreach (var (line, file) in doc.RootElement.GetProperty("predictions").EnumerateArray().Zip(trainFiles))
        {
            var predicted = line.GetProperty("class").GetString();
            var evidence = line.GetProperty("evidence").EnumerateArray().ToArray();
            Assert.Equal(NearestTrainingEvidence.DefaultItems, Math.Min(evidence.Length, NearestTrainingEvidence.DefaultItems));
            var sims = evidence.Select(e => e.GetProperty("similarity").GetDouble()).ToArray();
            Assert.Equal(sims.OrderByDescending(s => s), sims);
            foreach (var e in evidence)
            {
                Assert.Equal(predicted, e.GetProperty("label").GetString());
                Assert.True(File.Exists(e.GetProperty("path").GetString()));
            }
            // A training image predicted as its own class finds itself first.
            var ownClass = Path.GetFileName(Path.GetDirectoryName(file));
            if (ownClass == predicted?.Replace('/', '-'))
            {
                Assert.Equal(Path.GetFullPath(file), evidence[0].GetProperty("path").GetString());
                Assert.True(sims[0] > 0.9999, $"self-similarity {sims[0]}");
                selfFound++;
            }
        }
        Assert.True(selfFound > 0, "no training image was predicted as its own class; the check tested nothing");
    }

    [Fact]
    public void DamagedOrMissingIndex_IsAOneLineError()
    {
        using var dir = new TempDir();
        var trainFiles = SearchFixture.WriteImageFolder(dir.File("data"), 48);
        var run = dir.File("run");
        var t = CliRunner.Run("train", "--data", dir.File("data"), "--out", run, "--epochs", "1", "--batch-size", "12", "--lr", "0.01", "--validation", "0",
            "--keep-index", "--threads", "2", "--json");
        Assert.True(t.ExitCode == 0, t.Stderr);
        var path = Path.Combine(run, "train.index");
        var bytes = File.ReadAllBytes(path);
        bytes[^5] ^= 0x40;
        File.WriteAllBytes(path, bytes);
        var damaged = CliRunner.Run("predict", "--model", run, "--explain", trainFiles[0]);
        Assert.Equal(2, damaged.ExitCode);
        Assert.Contains("SHA-256 differs", damaged.Stderr);
        Assert.Single(damaged.Stderr.Trim().Split('\n'));
        File.Delete(path);
        var missing = CliRunner.Run("predict", "--model", run, "--explain", trainFiles[0]);
        Assert.Equal(2, missing.ExitCode);
        Assert.Contains("file not found", missing.Stderr);

        var plain = SearchFixture.SaveModel(dir.File("plain"), seed: 1);
        var none = CliRunner.Run("predict", "--model", plain, "--explain", trainFiles[0]);
        Assert.Equal(2, none.ExitCode);
        Assert.Equal($"protea: --explain: the model in {plain} keeps no training index to explain its predictions with and its head has no prototypes; train it again keeping the index, or with the parts head", none.Stderr.Trim());
        // Without --explain the model predicts as before, and re-saving elsewhere drops the section.
        Assert.Equal(0, CliRunner.Run("predict", "--model", plain, trainFiles[0]).ExitCode);
    }
}

using System.IO.Compression;
using Protea.Data;
using Protea.Deploy;
using Protea.Models;
using Protea.Tests.Support;
using TorchSharp;
using static TorchSharp.torch;

namespace Protea.Tests.Deploy;

public sealed class EngineParityTests
{
    /// <summary>
    /// A reference cnn trained briefly on real Fashion-MNIST (seeded Adam) predicts the same class with
    /// TorchSharp and with ONNX Runtime on every one of the 10,000 official test images.
    /// </summary>
    [Fact]
    public void TrainedCnn_TorchAndOnnxEngines_PredictTheSameClassOnAllTenThousandTestImages()
    {
        using var dir = new TempDir();
        using (var bundle = TrainBriefly(trainImages: 4096, steps: 80, batch: 32))
            bundle.Save(dir.Path);
        OnnxExporter.Export(dir.Path);
        var (images, labels) = FashionMnist.FirstTestImages(10_000);
        using var test = new Dataset(images, labels, FashionNames, InputKind.Image, FashionMnist.TestImages);

        InferenceOutput torchOut, onnxOut;
        using (var engine = InferenceEngines.Open(dir.Path, EngineChoice.Torch, threads: 2))
            torchOut = InferenceEngines.RunAll(engine, test, cancellation: TestContext.Current.CancellationToken);
        using (var engine = InferenceEngines.Open(dir.Path, EngineChoice.Onnx, threads: 2))
            onnxOut = InferenceEngines.RunAll(engine, test, cancellation: TestContext.Current.CancellationToken);

        var torchPredictions = torchOut.Predictions();
        var onnxPredictions = onnxOut.Predictions();
        var differing = Enumerable.Range(0, test.Count).Where(i => torchPredictions[i] != onnxPredictions[i]).ToList();
        Assert.True(differing.Count == 0, $"{differing.Count} predictions differ, first at image {differing.FirstOrDefault()}");
        Assert.True(DeployModels.MaxAbsDiff(torchOut.Logits, onnxOut.Logits) <= 1e-4);
        // Identical predictions only mean something for a model that has learned: the oracle is the labels.
        var accuracy = Enumerable.Range(0, test.Count).Count(i => torchPredictions[i] == labels[i]) / (double)test.Count;
        Assert.InRange(accuracy, 0.5, 1.0);
    }

    private static readonly string[] FashionNames =
        ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"];

    private static ModelBundle TrainBriefly(int trainImages, int steps, int batch)
    {
        manual_seed(2024);
        using var images = tensor(ReadGz(FashionMnist.TrainImages).AsSpan(16, trainImages * 784).ToArray(), [trainImages, 1, 28, 28]);
        var labels = ReadGz(FashionMnist.TrainLabels).AsSpan(8, trainImages).ToArray().Select(b => (long)b).ToArray();
        var description = DeployModels.Describe("cnn", null, "linear", images, 10) with { ClassNames = FashionNames };
        var model = Architectures.Create(description);
        using var inputs = description.Normalization.Apply(images);
        using var targets = tensor(labels);
        using var optimizer = optim.Adam(model.parameters(), 0.002);
        model.train();
        for (var step = 0; step < steps; step++)
        {
            using var scope = NewDisposeScope();
            var start = step * batch % trainImages;
            var loss = nn.functional.cross_entropy(model.forward(inputs.narrow(0, start, batch)), targets.narrow(0, start, batch));
            optimizer.zero_grad();
            loss.backward();
            optimizer.step();
        }
        model.eval();
        return new ModelBundle(description, model);
    }

    private static byte[] ReadGz(string path)
    {
        using var gz = new GZipStream(File.OpenRead(path), CompressionMode.Decompress);
        using var ms = new MemoryStream();
        gz.CopyTo(ms);
        return ms.ToArray();
    }
}

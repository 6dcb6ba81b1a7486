using System.Runtime.InteropServices;
using System.Text.Json;
using Protea.Data;
using Protea.Models;
using Protea.Tests.Support;
using TorchSharp;
using static TorchSharp.torch;

namespace Protea.Tests.Models;

/// <summary>A saved model reads in PyTorch as it is: same names, same tensors, same normalisation, same logits.</summary>
public sealed class PyTorchInteropTests(ITestOutputHelper output)
{
    /// <summary>
    /// The reference cnn written from its description in plain PyTorch (tests/python/protea_reference.py, under
    /// Protea's parameter names), loaded from Protea's model.safetensors with strict=True, so a missing, extra or
    /// mis-shaped tensor fails here. Input is normalised from model.json: x = (raw * scale - mean) / std.
    /// </summary>
    private const string ReferenceScript = """
        import sys, json
        import numpy as np, torch
        from protea_reference import load_model, normalize

        bundle, images_path, out_path = sys.argv[1:4]
        net, desc, meta = load_model(bundle)
        c, h, w = desc['input_shape']
        raw = np.fromfile(images_path, dtype=np.uint8).reshape(-1, c, h, w)
        x = normalize(raw, desc['normalization'])
        with torch.no_grad():
            logits = net(x)
        logits.numpy().astype('<f4').tofile(out_path)
        print(json.dumps({'format': meta.get('format'), 'tracked': int(net.backbone.block3.bn.num_batches_tracked)}))
        """;

    [Fact]
    public void SavedCnnWithLinearHead_GivesTheSameLogitsInPyTorch()
    {
        const int count = 64, classes = 10;
        using var dir = new TempDir();
        var (images, labels) = FashionMnist.FirstTestImages(count);
        using var _ = images;
        var normalization = InputNormalization.Fit(images);
        var description = new ModelDescription
        {
            Architecture = "cnn",
            Head = "linear",
            InputKind = InputKind.Image,
            InputShape = [1, 28, 28],
            ClassNames = Enumerable.Range(0, classes).Select(i => $"class{i}").ToArray(),
            Normalization = normalization,
        };
        manual_seed(0);
        using var bundle = new ModelBundle(description, Architectures.Create(description));
        var model = bundle.Model;
        using var x = normalization.Apply(images);

        // A few SGD steps in training mode, so BN running statistics and weights are far from their initial values.
        model.train();
        using (var sgd = optim.SGD(model.parameters(), 0.05))
            for (var step = 0; step < 3; step++)
            {
                using var scope = NewDisposeScope();
                var batch = x.narrow(0, 16 * step, 16);
                var target = tensor(labels[(16 * step)..(16 * step + 16)]);
                var loss = nn.functional.cross_entropy(model.forward(batch), target);
                sgd.zero_grad();
                loss.backward();
                sgd.step();
            }
        model.eval();
        using var runningMeanSize = model.state_dict()["backbone.block3.bn.running_mean"].abs().max();
        Assert.True(runningMeanSize.item<float>() > 1e-3, "BN statistics were not updated by training");

        float[] expected;
        using (no_grad())
        using (var logits = model.forward(x))
            expected = logits.data<float>().ToArray();
        bundle.Save(dir.Path);
        var imagesPath = dir.File("images.u8");
        File.WriteAllBytes(imagesPath, images.data<byte>().ToArray());
        var logitsPath = dir.File("logits.f32");

        var report = Python.Run(ReferenceScript, dir.Path, imagesPath, logitsPath);

        using var info = JsonDocument.Parse(report);
        Assert.Equal("pt", info.RootElement.GetProperty("format").GetString());
        Assert.Equal(3, info.RootElement.GetProperty("tracked").GetInt32());
        var actual = MemoryMarshal.Cast<byte, float>(File.ReadAllBytes(logitsPath)).ToArray();
        Assert.Equal(count * classes, actual.Length);
        var maxDiff = expected.Zip(actual, (a, b) => Math.Abs(a - b)).Max();
        output.WriteLine($"max |protea - pytorch| over {count}x{classes} logits: {maxDiff:g3}");
        Assert.True(maxDiff < 1e-4, $"max |protea - pytorch| = {maxDiff}");
        Assert.True(expected.Max(Math.Abs) > 0.1, "logits are too small for the comparison to mean anything");
    }
}

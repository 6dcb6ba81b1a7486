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
    /// The reference cnn written from its description in plain PyTorch, loaded from Protea's model.safetensors with
    /// only the prefix renamed (backbone.blockK.* -> blockK.*, head.* -> fc.*) and strict=True, so a missing,
    /// extra or mis-shaped tensor fails here. Input is normalised from model.json: x = (raw * scale - mean) / std.
    /// </summary>
    private const string ReferenceScript = """
        import sys
        import torch
        from torch import nn
        import torch.nn.functional as F

        bundle, images_path, out_path = sys.argv[1:4]
        tensors, meta = st_read(bundle + '/model.safetensors')
        with open(bundle + '/model.json') as f:
            desc = json.load(f)

        class Block(nn.Module):
            def __init__(self, cin, cout):
                super().__init__()
                self.conv = nn.Conv2d(cin, cout, 3, padding=1, bias=False)
                self.bn = nn.BatchNorm2d(cout)
            def forward(self, x):
                return F.relu(self.bn(self.conv(x)))

        class ReferenceCnn(nn.Module):
            def __init__(self, cin, classes):
                super().__init__()
                self.block1, self.block2 = Block(cin, 32), Block(32, 32)
                self.block3, self.block4 = Block(32, 64), Block(64, 64)
                self.block5 = Block(64, 128)
                self.fc = nn.Linear(128, classes)
            def forward(self, x):
                x = F.max_pool2d(self.block2(self.block1(x)), 2)
                x = F.max_pool2d(self.block4(self.block3(x)), 2)
                return self.fc(self.block5(x).mean((2, 3)))

        assert desc['architecture'] == 'cnn' and desc['head'] == 'linear', desc
        c, h, w = desc['input_shape']
        net = ReferenceCnn(c, len(desc['class_names']))
        state = {('fc.' + k[len('head.'):]) if k.startswith('head.') else k[len('backbone.'):]: torch.from_numpy(v.copy())
                 for k, v in tensors.items()}
        net.load_state_dict(state, strict=True)
        net.eval()

        norm = desc['normalization']
        raw = torch.from_numpy(np.fromfile(images_path, dtype=np.uint8).reshape(-1, c, h, w)).double()
        mean = torch.tensor(norm['mean'], dtype=torch.float64).view(1, -1, 1, 1)
        std = torch.tensor(norm['std'], dtype=torch.float64).view(1, -1, 1, 1)
        x = ((raw * norm['scale'] - mean) / std).float()
        with torch.no_grad():
            logits = net(x)
        logits.numpy().astype('<f4').tofile(out_path)
        print(json.dumps({'format': meta.get('format'), 'tracked': int(net.block3.bn.num_batches_tracked)}))
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

        var report = Python.Run(SafeTensorsPy.Functions + ReferenceScript, dir.Path, imagesPath, logitsPath);

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

using System.Text.Json;
using Protea.Explanations;
using Protea.Models;
using Protea.Tests.Support;
using static TorchSharp.torch;

namespace Protea.Tests.Explanations;

/// <summary>
/// Grad-CAM, Grad-CAM++, Integrated Gradients, SmoothGrad (with the same noise), the gradient and gradient x input against the same maths written in
/// plain PyTorch (Debian's torch, the reference cnn of tests/python/protea_reference.py, weights read from
/// our model.safetensors, activations caught with forward hooks), within 1e-4.
/// </summary>
public sealed class SaliencyPyTorchOracleTests
{
    private const string Script = """
        import sys, json
        import numpy as np, torch, torch.nn.functional as F
        from protea_reference import load_model

        model_dir, images_path, out_path = sys.argv[1:4]
        net, desc, _ = load_model(model_dir)
        c, h, w = desc['input_shape']
        raw = np.fromfile(images_path, dtype=np.uint8).reshape(-1, c, h, w)
        n = raw.shape[0]
        targets = torch.arange(n) % len(desc['class_names'])
        mean = torch.tensor(desc['normalization']['mean'], dtype=torch.float32).view(1, -1, 1, 1)
        std = torch.tensor(desc['normalization']['std'], dtype=torch.float32).view(1, -1, 1, 1)
        pixels = torch.from_numpy(raw.astype(np.float32)) / 255.0

        def score(p):
            return net((p - mean) / std).gather(1, targets[:, None]).sum()

        def input_grad(p):
            p = p.detach().clone().requires_grad_(True)
            return torch.autograd.grad(score(p), p)[0]

        def gradcam(module):
            caught = {}
            handle = module.register_forward_hook(lambda m, i, o: caught.__setitem__('a', o))
            s = score(pixels)
            handle.remove()
            a = caught['a']
            g = torch.autograd.grad(s, a)[0]
            cam = F.relu((g.mean((2, 3), keepdim=True) * a).sum(1, keepdim=True))
            return F.interpolate(cam, size=(h, w), mode='bilinear', align_corners=False)[:, 0].detach()

        g = input_grad(pixels)
        steps = 16
        ig = sum(input_grad(pixels * (k / steps)) for k in range(1, steps + 1)) * pixels / steps
        out = {
            'gradcam': gradcam(net.backbone.block5),
            'gradcam_block3': gradcam(net.backbone.block3.conv),
            'gradient': g.abs().amax(1),
            'gradxinput': (g * pixels).sum(1),
            'ig': ig.sum(1),
        }
        np.save(out_path, np.stack([out[k].numpy() for k in ['gradcam', 'gradcam_block3', 'gradient', 'gradxinput', 'ig']]))
        """;

    [Fact]
    public void MapsMatchPyTorchHooksOnTheSameWeights()
    {
        const int count = 6;
        using var dir = new TempDir();
        ExplanationModels.Save(dir.Path);
        var (images, _) = FashionMnist.FirstTestImages(count);
        using var raw = images;
        var imagesPath = dir.File("images.u8");
        File.WriteAllBytes(imagesPath, raw.data<byte>().ToArray());
        var outPath = dir.File("maps.npy");
        Python.Run(Script, dir.Path, imagesPath, outPath);
        var expected = ReadNpy(outPath); // [5, N, 28, 28]

        using var bundle = ModelBundle.Load(dir.Path);
        var model = new ExplainedModel(bundle);
        using var pixels = ExplainedModel.Pixels(raw);
        using var targets = arange(count, dtype: int64).remainder(10);
        var methods = new (string Name, IExplainer Method)[]
        {
            ("gradcam", Explainers.Create("gradcam")),
            ("gradcam backbone.block3.conv", Explainers.Create("gradcam", new ExplainerOptions { Layer = "backbone.block3.conv" })),
            ("gradient", Explainers.Create("gradient")),
            ("gradxinput", Explainers.Create("gradxinput")),
            ("ig", Explainers.Create("ig", new ExplainerOptions { Steps = 16, Baseline = ImageBaseline.Black })),
        };
        for (var m = 0; m < methods.Length; m++)
        {
            using var maps = methods[m].Method.Explain(model, pixels, targets);
            Assert.Equal(new long[] { count, 28, 28 }, maps.shape);
            var actual = maps.data<float>().ToArray();
            var reference = expected[(m * actual.Length)..((m + 1) * actual.Length)];
            var scale = reference.Max(Math.Abs);
            Assert.True(scale > 1e-3, $"{methods[m].Name}: the reference map is all but zero ({scale}), the test would prove nothing");
            var worst = actual.Zip(reference, (a, b) => Math.Abs(a - b)).Max();
            // 1e-4 absolute, relative for maps larger than 1 (float32 sums in another order).
            Assert.True(worst <= 1e-4 * Math.Max(1, scale), $"{methods[m].Name}: largest difference {worst} from PyTorch (map scale {scale})");
        }
    }

    private const string PlusPlusAndSmoothGradScript = """
        import sys
        import numpy as np, torch, torch.nn.functional as F
        from protea_reference import load_model

        model_dir, images_path, noise_path, sigma, out_path = sys.argv[1:6]
        sigma = float(sigma)
        net, desc, _ = load_model(model_dir)
        c, h, w = desc['input_shape']
        raw = np.fromfile(images_path, dtype=np.uint8).reshape(-1, c, h, w)
        n = raw.shape[0]
        noise = torch.from_numpy(np.fromfile(noise_path, dtype=np.float32).reshape(-1, n, c, h, w))
        targets = torch.arange(n) % len(desc['class_names'])
        mean = torch.tensor(desc['normalization']['mean'], dtype=torch.float32).view(1, -1, 1, 1)
        std = torch.tensor(desc['normalization']['std'], dtype=torch.float32).view(1, -1, 1, 1)
        pixels = torch.from_numpy(raw.astype(np.float32)) / 255.0

        def score(p):
            return net((p - mean) / std).gather(1, targets[:, None]).sum()

        def input_grad(p):
            p = p.detach().clone().requires_grad_(True)
            return torch.autograd.grad(score(p), p)[0]

        # Grad-CAM++ as pytorch-grad-cam writes it (exponential scores; eps 1e-7 as Protea).
        def gradcampp(module):
            caught = {}
            handle = module.register_forward_hook(lambda m, i, o: caught.__setitem__('a', o))
            s = score(pixels)
            handle.remove()
            a = caught['a']
            g = torch.autograd.grad(s, a)[0].double()
            a = a.detach().double()
            alpha = g ** 2 / (2 * g ** 2 + a.sum((2, 3), keepdim=True) * g ** 3 + 1e-7)
            alpha = torch.where(g != 0, alpha, torch.zeros_like(alpha))
            weights = (alpha * F.relu(g)).sum((2, 3), keepdim=True)
            cam = F.relu((weights * a).sum(1, keepdim=True))
            return F.interpolate(cam, size=(h, w), mode='bilinear', align_corners=False)[:, 0].float()

        smooth = sum(input_grad(pixels + sigma * noise[s]) for s in range(noise.shape[0])) / noise.shape[0]
        out = [gradcampp(net.backbone.block5), gradcampp(net.backbone.block3.conv), smooth.abs().amax(1)]
        np.save(out_path, np.stack([o.numpy() for o in out]))
        """;

    [Fact]
    public void GradCamPlusPlusAndSmoothGradMatchPyTorchOnTheSameWeights()
    {
        const int count = 6, samples = 5;
        const double sigma = 0.15;
        using var dir = new TempDir();
        ExplanationModels.Save(dir.Path);
        var (images, _) = FashionMnist.FirstTestImages(count);
        using var raw = images;
        var imagesPath = dir.File("images.u8");
        File.WriteAllBytes(imagesPath, raw.data<byte>().ToArray());
        // The noise SmoothGrad averages over, drawn here and written out, so both sides add the same.
        using var generator = new Generator(7);
        using var noise = randn([samples, count, 1, 28, 28], generator: generator);
        var noisePath = dir.File("noise.f32");
        File.WriteAllBytes(noisePath, System.Runtime.InteropServices.MemoryMarshal.AsBytes(noise.data<float>().ToArray().AsSpan()).ToArray());
        var outPath = dir.File("maps.npy");
        Python.Run(PlusPlusAndSmoothGradScript, dir.Path, imagesPath, noisePath, sigma.ToString(System.Globalization.CultureInfo.InvariantCulture), outPath);
        var expected = ReadNpy(outPath); // [3, N, 28, 28]

        using var bundle = ModelBundle.Load(dir.Path);
        var model = new ExplainedModel(bundle);
        using var pixels = ExplainedModel.Pixels(raw);
        using var targets = arange(count, dtype: int64).remainder(10);
        var smooth = new SmoothGrad(samples, sigma, seed: 0);
        var maps = new (string Name, Func<Tensor> Map)[]
        {
            ("gradcampp", () => Explainers.Create("gradcampp").Explain(model, pixels, targets)),
            ("gradcampp backbone.block3.conv", () => Explainers.Create("gradcampp", new ExplainerOptions { Layer = "backbone.block3.conv" }).Explain(model, pixels, targets)),
            ("smoothgrad", () => smooth.ExplainWithNoise(model, pixels, targets, noise)),
        };
        for (var m = 0; m < maps.Length; m++)
        {
            using var map = maps[m].Map();
            Assert.Equal(new long[] { count, 28, 28 }, map.shape);
            var actual = map.data<float>().ToArray();
            var reference = expected[(m * actual.Length)..((m + 1) * actual.Length)];
            var scale = reference.Max(Math.Abs);
            Assert.True(scale > 1e-3, $"{maps[m].Name}: the reference map is all but zero ({scale}), the test would prove nothing");
            var worst = actual.Zip(reference, (a, b) => Math.Abs(a - b)).Max();
            Assert.True(worst <= 1e-4 * Math.Max(1, scale), $"{maps[m].Name}: largest difference {worst} from PyTorch (map scale {scale})");
        }
        // The seeded path draws its own noise: another map than the injected one, the same on a second call.
        using var seeded = smooth.Explain(model, pixels, targets);
        using var again = smooth.Explain(model, pixels, targets);
        Assert.Equal(seeded.data<float>().ToArray(), again.data<float>().ToArray());
    }

    /// <summary>A float32 .npy array, C order, as a flat array.</summary>
    private static float[] ReadNpy(string path)
    {
        var bytes = File.ReadAllBytes(path);
        var headerLength = BitConverter.ToUInt16(bytes, 8);
        var header = System.Text.Encoding.ASCII.GetString(bytes, 10, headerLength);
        Assert.Contains("'descr': '<f4'", header);
        Assert.Contains("'fortran_order': False", header);
        var data = new float[(bytes.Length - 10 - headerLength) / 4];
        Buffer.BlockCopy(bytes, 10 + headerLength, data, 0, data.Length * 4);
        return data;
    }
}

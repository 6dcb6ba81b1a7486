using System.Runtime.InteropServices;
using Protea.Tests.Support;
using static TorchSharp.torch;

namespace Protea.Tests.Models;

/// <summary>
/// A seeded torchvision resnet18 made once per test class by Debian's PyTorch: its state dict as safetensors
/// (as torchvision gives it, with fc.* and num_batches_tracked; and bare, without either), a random input
/// [4, 3, 64, 64] and PyTorch's eval-mode 512-d embedding of it (fc replaced by Identity).
/// </summary>
public sealed class TorchvisionResNet18Fixture : IDisposable
{
    // BN statistics come from two training-mode passes with momentum=None (a plain average, so they match the
    // activations' scale) and the affine terms are random: every BN tensor matters and none is at its default.
    private const string Script = """
        import sys
        import torch, torchvision
        from torch import nn

        out = sys.argv[1]
        torch.manual_seed(0)
        m = torchvision.models.resnet18(num_classes=10)
        g = torch.Generator().manual_seed(1)
        bns = [mod for mod in m.modules() if isinstance(mod, nn.BatchNorm2d)]
        for bn in bns:
            bn.momentum = None
        m.train()
        with torch.no_grad():
            for _ in range(2):
                m(torch.randn(8, 3, 64, 64, generator=g))
            for bn in bns:
                bn.weight.copy_(0.5 + torch.rand(bn.num_features, generator=g))
                bn.bias.copy_(0.2 * torch.randn(bn.num_features, generator=g))
        m.eval()
        sd = m.state_dict()
        st_write(out + '/torchvision.safetensors', {k: v.numpy() for k, v in sd.items()}, {'format': 'pt'})
        st_write(out + '/bare.safetensors', {k: v.numpy() for k, v in sd.items()
                                             if not k.startswith('fc.') and not k.endswith('num_batches_tracked')})
        x = torch.randn(4, 3, 64, 64, generator=g)
        x.numpy().astype('<f4').tofile(out + '/input.f32')
        m.fc = nn.Identity()
        with torch.no_grad():
            m(x).numpy().astype('<f4').tofile(out + '/embedding.f32')
        """;

    private readonly TempDir dir = new();

    public TorchvisionResNet18Fixture()
    {
        Python.Run(SafeTensorsPy.Functions + Script, dir.Path);
        Input = MemoryMarshal.Cast<byte, float>(File.ReadAllBytes(dir.File("input.f32"))).ToArray();
        Embedding = MemoryMarshal.Cast<byte, float>(File.ReadAllBytes(dir.File("embedding.f32"))).ToArray();
    }

    /// <summary>torchvision's state_dict() as saved: fc.* and every num_batches_tracked included.</summary>
    public string FullFile => dir.File("torchvision.safetensors");

    /// <summary>The same without fc.* and without num_batches_tracked, as many converted files come.</summary>
    public string BareFile => dir.File("bare.safetensors");

    public float[] Input { get; }

    /// <summary>PyTorch's eval-mode embeddings of <see cref="Input"/>, [4, 512] row-major.</summary>
    public float[] Embedding { get; }

    public Tensor InputTensor() => tensor(Input, [4, 3, 64, 64]);

    public void Dispose() => dir.Dispose();
}

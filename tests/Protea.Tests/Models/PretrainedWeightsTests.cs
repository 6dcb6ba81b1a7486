using Protea.Models;
using Protea.Tests.Support;
using TorchSharp;
using static TorchSharp.torch;

namespace Protea.Tests.Models;

public sealed class PretrainedWeightsTests(TorchvisionResNet18Fixture torchvision, ITestOutputHelper output)
    : IClassFixture<TorchvisionResNet18Fixture>
{
    private static float[] Embed(Backbone backbone, Tensor x)
    {
        backbone.eval();
        using var noGrad = no_grad();
        using var z = backbone.forward(x);
        return z.data<float>().ToArray();
    }

    private static float MaxAbsDiff(float[] a, float[] b)
    {
        Assert.Equal(a.Length, b.Length);
        return a.Zip(b, (p, q) => Math.Abs(p - q)).Max();
    }

    private static Dictionary<string, Tensor> Snapshot(nn.Module module) =>
        module.state_dict().ToDictionary(kv => kv.Key, kv => kv.Value.detach().clone());

    private static void AssertUnchanged(Dictionary<string, Tensor> before, nn.Module module)
    {
        foreach (var (name, t) in module.state_dict())
            Assert.True(before[name].Equals(t), $"{name} changed although the file was refused");
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void LoadInto_TorchvisionResNet18_GivesPyTorchEmbeddings(bool bare)
    {
        using var backbone = new ResNet18(3, ResNetStem.ImageNet);
        PretrainedWeights.LoadInto(backbone, bare ? torchvision.BareFile : torchvision.FullFile);
        using var x = torchvision.InputTensor();
        var diff = MaxAbsDiff(Embed(backbone, x), torchvision.Embedding);
        output.WriteLine($"max |protea - torchvision| over 4x512 embeddings: {diff:g3}");
        Assert.True(diff < 1e-4, $"max |protea - torchvision| = {diff}");
        Assert.True(torchvision.Embedding.Max() > 0.1, "embeddings are too small for the comparison to mean anything");
        // The file's BN counters (2 training passes) are taken when present; without them ours stay at 0.
        Assert.Equal(bare ? 0 : 2, backbone.state_dict()["layer3.0.downsample.1.num_batches_tracked"].item<long>());
    }

    [Fact]
    public void LoadInto_RgbWeightsIntoGrayModel_EqualsRgbModelOnGrayReplicatedToThreeChannels()
    {
        using var rgb = new ResNet18(3, ResNetStem.ImageNet);
        using var gray = new ResNet18(1, ResNetStem.ImageNet);
        PretrainedWeights.LoadInto(rgb, torchvision.FullFile);
        PretrainedWeights.LoadInto(gray, torchvision.FullFile);
        Assert.Equal([64L, 1, 7, 7], gray.state_dict()["conv1.weight"].shape);

        using var x = torchvision.InputTensor();
        using var grayInput = x.narrow(1, 0, 1).contiguous();
        using var replicated = grayInput.expand(-1, 3, -1, -1).contiguous();
        var diff = MaxAbsDiff(Embed(gray, grayInput), Embed(rgb, replicated));
        output.WriteLine($"max |gray model - rgb model on (x, x, x)|: {diff:g3}");
        Assert.True(diff < 1e-4, $"max |gray - rgb| = {diff}");
    }

    [Fact]
    public void LoadInto_ImageNetWeightsIntoSmallStem_NamesConv1AndSuggestsImageNetStem()
    {
        using var backbone = new ResNet18(3, ResNetStem.Small);
        var e = Assert.Throws<ProteaException>(() => PretrainedWeights.LoadInto(backbone, torchvision.FullFile));
        Assert.Equal(
            $"{torchvision.FullFile}: tensor 'conv1.weight' has shape [64, 3, 7, 7], the resnet18 (small stem) needs [64, 3, 3, 3]; torchvision weights need the imagenet stem",
            e.Message);
        Assert.Equal("stem", e.Field);
    }

    [Fact]
    public void LoadInto_RgbWeightsIntoFourChannelModel_IsRefusedNamingConv1()
    {
        using var backbone = new ResNet18(4, ResNetStem.ImageNet);
        var e = Assert.Throws<ProteaException>(() => PretrainedWeights.LoadInto(backbone, torchvision.FullFile));
        Assert.StartsWith($"{torchvision.FullFile}: tensor 'conv1.weight' has shape [64, 3, 7, 7], the resnet18 (imagenet stem) needs [64, 4, 7, 7]; ", e.Message);
        Assert.Contains("3-channel input", e.Message);
        Assert.Equal("init", e.Field);
    }

    [Fact]
    public void LoadInto_SmallStemWeightsIntoImageNetStem_SuggestsSmallStem()
    {
        using var dir = new TempDir();
        var path = dir.File("small.safetensors");
        using (var source = new ResNet18(3, ResNetStem.Small))
            SafeTensors.Write(path, source.state_dict());
        using var backbone = new ResNet18(3, ResNetStem.ImageNet);
        var e = Assert.Throws<ProteaException>(() => PretrainedWeights.LoadInto(backbone, path));
        Assert.EndsWith("needs [64, 3, 7, 7]; weights with a 3x3 stem need the small stem", e.Message);
        Assert.Equal("stem", e.Field);
    }

    /// <summary>Our own ResNet18's state dict in torchvision layout, edited, written to a file.</summary>
    private static string WriteEdited(TempDir dir, Action<Dictionary<string, Tensor>> edit)
    {
        var path = dir.File("edited.safetensors");
        using var source = new ResNet18(3, ResNetStem.Small);
        var state = source.state_dict().ToDictionary(kv => kv.Key, kv => kv.Value);
        edit(state);
        SafeTensors.Write(path, state);
        return path;
    }

    [Fact]
    public void LoadInto_MissingTensor_NamesItAndLeavesBackboneUntouched()
    {
        using var dir = new TempDir();
        var path = WriteEdited(dir, s => s.Remove("layer4.1.bn2.weight"));
        using var backbone = new ResNet18(3, ResNetStem.Small);
        var before = Snapshot(backbone);
        var e = Assert.Throws<ProteaException>(() => PretrainedWeights.LoadInto(backbone, path));
        Assert.StartsWith($"{path}: tensor 'layer4.1.bn2.weight' is missing (the resnet18 needs shape [512])", e.Message);
        AssertUnchanged(before, backbone);
    }

    [Fact]
    public void LoadInto_MisShapedLaterTensor_NamesItAndLeavesBackboneUntouched()
    {
        using var dir = new TempDir();
        var path = WriteEdited(dir, s => s["layer3.1.bn1.running_var"] = ones(128));
        using var backbone = new ResNet18(3, ResNetStem.Small);
        var before = Snapshot(backbone);
        var e = Assert.Throws<ProteaException>(() => PretrainedWeights.LoadInto(backbone, path));
        Assert.Equal($"{path}: tensor 'layer3.1.bn1.running_var' has shape [128], the resnet18 (small stem) needs [256]; the file is not a torchvision resnet18 state dict", e.Message);
        AssertUnchanged(before, backbone);
    }

    [Fact]
    public void LoadInto_TensorFromADeeperResNet_IsRefusedNamingIt()
    {
        using var dir = new TempDir();
        var path = WriteEdited(dir, s => s["layer1.2.conv1.weight"] = zeros(64, 64, 3, 3));
        using var backbone = new ResNet18(3, ResNetStem.Small);
        var e = Assert.Throws<ProteaException>(() => PretrainedWeights.LoadInto(backbone, path));
        Assert.StartsWith($"{path}: unexpected tensor 'layer1.2.conv1.weight'", e.Message);
    }

    [Fact]
    public void LoadInto_IntegerWeights_AreRefused()
    {
        using var dir = new TempDir();
        var path = WriteEdited(dir, s => s["bn1.bias"] = zeros(new long[] { 64 }, dtype: ScalarType.Int64));
        using var backbone = new ResNet18(3, ResNetStem.Small);
        var e = Assert.Throws<ProteaException>(() => PretrainedWeights.LoadInto(backbone, path));
        Assert.StartsWith($"{path}: tensor 'bn1.bias' holds Int64 values", e.Message);
    }

    [Fact]
    public void LoadInto_ProteaResNetModelFile_LoadsTheBackboneAndIgnoresTheHead()
    {
        using var dir = new TempDir();
        var path = dir.File("model.safetensors");
        manual_seed(3);
        using var trained = new Classifier(new ResNet18(3, ResNetStem.Small), new LinearHead(512, 4));
        using (no_grad())
            foreach (var (name, t) in trained.state_dict())
                if (name.EndsWith("running_mean")) t.copy_(randn_like(t) * 0.1);
        SafeTensors.Write(path, trained.state_dict());

        using var backbone = new ResNet18(3, ResNetStem.Small);
        PretrainedWeights.LoadInto(backbone, path);
        using var x = randn(2, 3, 8, 8);
        trained.eval();
        Assert.Equal(Embed(trained.Backbone, x), Embed(backbone, x));
    }

    [Fact]
    public void LoadInto_FileThatIsNotSafetensors_GivesTheReadersError()
    {
        using var dir = new TempDir();
        var path = dir.File("resnet18.pth");
        File.WriteAllBytes(path, [0x50, 0x4b, 0x03, 0x04, 0x14, 0x00, 0x00, 0x00, 0x08, 0x00, 0x00, 0x00]);
        var reader = Assert.Throws<ProteaException>(() => SafeTensors.Read(path));
        using var backbone = new ResNet18(3, ResNetStem.ImageNet);
        var e = Assert.Throws<ProteaException>(() => PretrainedWeights.LoadInto(backbone, path));
        Assert.Equal(reader.Message, e.Message);
        Assert.StartsWith($"{path}: not a valid safetensors file", e.Message);
    }

    [Fact]
    public void LoadInto_OtherArchitecture_IsRefusedNamingIt()
    {
        using var cnn = new ReferenceCnn(1);
        var e = Assert.Throws<ProteaException>(() => PretrainedWeights.LoadInto(cnn, torchvision.FullFile));
        Assert.Equal("pretrained weights load only into resnet18, not into architecture 'cnn'", e.Message);
        Assert.Equal("init", e.Field);
    }

    [Fact]
    public void RequireSupported_AcceptsOnlyResNet18()
    {
        PretrainedWeights.RequireSupported("resnet18");
        var e = Assert.Throws<ProteaException>(() => PretrainedWeights.RequireSupported("mlp"));
        Assert.Equal("pretrained weights load only into resnet18, not into architecture 'mlp'", e.Message);
        Assert.Equal("init", e.Field);
    }
}

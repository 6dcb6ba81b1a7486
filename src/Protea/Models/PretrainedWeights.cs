using TorchSharp;
using static TorchSharp.torch;

namespace Protea.Models;

/// <summary>
/// The resnet18 spec's pretrained loader (the "init" setting): starts a resnet18 backbone from a torchvision-format state dict saved as safetensors,
/// e.g. ImageNet weights converted in Python with
/// <c>safetensors.torch.save_file(torchvision.models.resnet18(weights="DEFAULT").state_dict(), "init.safetensors")</c>.
/// Names are torchvision's (conv1.weight, bn1.*, layer1.0.conv1.weight, ..., layer2.0.downsample.0.weight);
/// the ImageNet classifier (fc.*) is dropped because Protea trains its own head for the new classes, and
/// num_batches_tracked is optional because converters often leave it out (our counter then stays as it is;
/// it only matters for BatchNorm with momentum=None). A model.safetensors written by Protea itself (names
/// under "backbone.", head under "head.") is accepted too, so one resnet18 can start another.
/// Every name and shape is checked before anything is copied: a refused file leaves the backbone untouched.
/// </summary>
public static class PretrainedWeights
{
    private const string ProteaBackbonePrefix = "backbone.";

    /// <summary>The check made before reading data: the architecture must have a pretrained loader in its spec.</summary>
    public static void RequireSupported(string architecture)
    {
        if (Registry.Backbones.Get(architecture).LoadPretrained is null)
            throw Unsupported(architecture);
    }

    /// <summary>Loads a pretrained file into <paramref name="backbone"/> with its spec's loader.</summary>
    public static void LoadInto(string architecture, Backbone backbone, string path)
    {
        var load = Registry.Backbones.Get(architecture).LoadPretrained ?? throw Unsupported(architecture);
        load(backbone, path);
    }

    private static ProteaException Unsupported(string architecture)
    {
        var loaders = Registry.Backbones.All.Where(s => s.LoadPretrained is not null).Select(s => s.Name);
        return new ProteaException(
            $"pretrained weights load only into {string.Join(", ", loaders)}, not into architecture '{architecture}'", "init");
    }

    /// <summary>
    /// Copies the file's tensors into <paramref name="backbone"/>. When the model takes 1 input channel and
    /// the file's conv1 takes 3 (RGB weights, grayscale data), conv1 is summed over its input channels, as
    /// timm's adapt_input_conv does: a gray image x through the summed kernel gives exactly what the RGB
    /// network gives for (x, x, x), so the pretrained features are kept rather than re-learned.
    /// </summary>
    public static void LoadInto(Backbone backbone, string safetensorsPath)
    {
        if (backbone is not ResNet18 resnet)
            throw Unsupported(backbone.GetName());
        var file = SafeTensors.Read(safetensorsPath);
        using var scope = NewDisposeScope();
        try
        {
            var plan = Plan(resnet, BackboneTensors(file), safetensorsPath);
            using var noGrad = no_grad();
            foreach (var (target, source) in plan)
                target.copy_(source);
        }
        finally
        {
            foreach (var t in file.Values) t.Dispose();
        }
    }

    /// <summary>The file's backbone tensors under torchvision names: fc.* (torchvision) or head.* (Protea) left out.</summary>
    private static Dictionary<string, Tensor> BackboneTensors(Dictionary<string, Tensor> file)
    {
        var fromProtea = file.Keys.Any(k => k.StartsWith(ProteaBackbonePrefix, StringComparison.Ordinal));
        var result = new Dictionary<string, Tensor>();
        foreach (var (name, t) in file)
        {
            if (fromProtea && name.StartsWith(ProteaBackbonePrefix, StringComparison.Ordinal))
                result[name[ProteaBackbonePrefix.Length..]] = t;
            else if (!name.StartsWith(fromProtea ? "head." : "fc.", StringComparison.Ordinal))
                result[name] = t;
        }
        return result;
    }

    private static List<(Tensor Target, Tensor Source)> Plan(ResNet18 model, Dictionary<string, Tensor> file, string path)
    {
        var state = model.state_dict();
        var plan = new List<(Tensor, Tensor)>();
        foreach (var (name, target) in state)
        {
            if (!file.TryGetValue(name, out var t))
            {
                if (name.EndsWith(".num_batches_tracked", StringComparison.Ordinal)) continue;
                throw new ProteaException(
                    $"{path}: tensor '{name}' is missing (the resnet18 needs shape {Shape(target)}); the file is not a complete torchvision resnet18 state dict", "init");
            }
            if (target.is_floating_point() && !t.is_floating_point())
                throw new ProteaException($"{path}: tensor '{name}' holds {t.dtype} values, the resnet18 needs floating-point weights", "init");
            if (t.shape.SequenceEqual(target.shape))
                plan.Add((target, t));
            else if (name == "conv1.weight" && IsRgbIntoGray(t, target))
                plan.Add((target, t.sum(1, keepdim: true)));
            else
            {
                var (hint, field) = Hint(name, t, target, model.Stem);
                throw new ProteaException($"{path}: tensor '{name}' has shape {Shape(t)}, the resnet18 ({StemName(model.Stem)} stem) needs {Shape(target)}; {hint}", field);
            }
        }
        var extra = file.Keys.FirstOrDefault(k => !state.ContainsKey(k));
        if (extra is not null)
            throw new ProteaException($"{path}: unexpected tensor '{extra}'; a torchvision resnet18 state dict has no such tensor (was the file saved from another architecture?)", "init");
        return plan;
    }

    private static bool IsRgbIntoGray(Tensor file, Tensor target) =>
        file.dim() == 4 && target.shape[1] == 1 && file.shape[1] == 3
        && file.shape[0] == target.shape[0] && file.shape[2] == target.shape[2] && file.shape[3] == target.shape[3];

    /// <summary>What to change, and the setting it is about: the stem when conv1's kernel says the file has the other stem.</summary>
    private static (string Hint, string Field) Hint(string name, Tensor file, Tensor target, ResNetStem stem)
    {
        if (name != "conv1.weight" || file.dim() != 4)
            return ("the file is not a torchvision resnet18 state dict", "init");
        if (file.shape[2] != target.shape[2])
            return stem == ResNetStem.Small
                ? ("torchvision weights need the imagenet stem", "stem")
                : ($"weights with a {file.shape[2]}x{file.shape[3]} stem need the small stem", "stem");
        return ($"the file's weights take {file.shape[1]}-channel input and the data has {target.shape[1]} channel(s); only RGB weights are adapted, to 1-channel data", "init");
    }

    private static string StemName(ResNetStem stem) => stem == ResNetStem.ImageNet ? "imagenet" : "small";

    private static string Shape(Tensor t) => $"[{string.Join(", ", t.shape)}]";
}

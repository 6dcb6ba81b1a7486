using System.Diagnostics;
using Protea.Data;
using Protea.Deploy;
using Protea.Models;
using TorchSharp;
using static TorchSharp.torch;

namespace Protea.Incremental;

/// <summary>A class to add: its name and its items as the model takes them raw: images uint8 [N, C, H, W], or table rows float [N, D].</summary>
public sealed record NewClass(string Name, Tensor Images);

/// <summary>
/// What <see cref="ClassLearner.AddClasses"/> did: the classes added, the class count before and after,
/// and, when old test items were given, how many changed prediction (and how many of those went to a
/// new class, which with ncm/teen is every one of them).
/// </summary>
public sealed record LearnClassResult(IReadOnlyList<string> Added, int ClassesBefore, int ClassesAfter, string Method, int ImagesUsed,
    int? OldItems, int? Moved, int? MovedToNewClass, string Onnx, double Seconds);

/// <summary>
/// Adds classes to a saved model from a few examples (<c>protea learn-class</c>, and the call that
/// adopts a discovered cluster as a class). The head grows (<see cref="IGrowableHead"/>); with ncm
/// each new class's prototype is the mean of its L2-normalised embeddings, calibrated towards similar
/// old prototypes with teen; the backbone and old prototypes are untouched, so old classes score as
/// before. With icarl the model is fine-tuned on the new items and exemplars of the old classes
/// (<see cref="IcarlLearning"/>). The grown model is written to a new
/// folder beside the old one and swapped in, so an interrupted save leaves the old model as it was;
/// an existing model.onnx is exported again (never left stale).
/// </summary>
public static class ClassLearner
{
    public static readonly IReadOnlyList<string> Methods = ["ncm", "teen", "icarl"];

    /// <param name="oldTest">Items of the model's classes (raw inputs, labels unused) to count moved predictions on; null: not counted.</param>
    /// <param name="icarl">The old classes' data and training settings; required by method icarl.</param>
    public static LearnClassResult AddClasses(string modelDir, IReadOnlyList<NewClass> classes, string method = "ncm", Dataset? oldTest = null,
        double teenTemperature = TeenCalibration.DefaultTemperature, double teenAlpha = TeenCalibration.DefaultAlpha, IcarlLearning? icarl = null)
    {
        var watch = Stopwatch.StartNew();
        if (!Methods.Contains(method))
            throw new ProteaException($"method '{method}' is not known for adding classes; known: {string.Join(", ", Methods)}", "method");
        if (method == "icarl" && icarl is null)
            throw new ProteaException("method 'icarl' needs the old classes' training data to keep exemplars of (a saved model holds none)", "old_data");
        if (classes.Count == 0) throw new ProteaException("no classes to add", "data");
        var description = ModelBundle.ReadDescription(modelDir);
        foreach (var c in classes) Check(c, description);
        using var bundle = ModelBundle.Load(modelDir);
        var before = bundle.Description.NumClasses;
        using var grown = ModelGrowth.Grow(bundle, classes.Select(c => c.Name).ToArray());
        var inputs = cat(classes.Select(c => c.Images).ToArray(), 0);
        var labels = classes.SelectMany((c, i) => Enumerable.Repeat((long)(before + i), (int)c.Images.shape[0])).ToArray();
        ModelBundle? trained = null;
        using (var data = new Dataset(inputs, labels, grown.Description.ClassNames, description.InputKind, "new classes"))
        {
            if (method == "icarl") trained = icarl!.Learn(bundle, grown, data, before);
            else Prototypes.AddClasses(grown, data, before, method == "teen", teenTemperature, teenAlpha);
        }
        using var learnt = trained;
        var result = learnt ?? grown;
        int? moved = null, movedToNew = null;
        if (oldTest is { Count: > 0 })
        {
            var was = TrainedMethod.ArgMax(bundle, oldTest);
            var now = TrainedMethod.ArgMax(result, oldTest);
            moved = was.Zip(now).Count(p => p.First != p.Second);
            movedToNew = was.Zip(now).Count(p => p.First != p.Second && p.Second >= before);
        }
        // icarl retrained the backbone: the kept index's embeddings no longer match and it is not carried over.
        var onnx = Save(result, modelDir, added: learnt is null ? classes : null);
        return new LearnClassResult(classes.Select(c => c.Name).ToArray(), before, result.Description.NumClasses, method,
            classes.Sum(c => (int)c.Images.shape[0]), oldTest?.Count, moved, movedToNew, onnx, watch.Elapsed.TotalSeconds);
    }

    private static void Check(NewClass c, ModelDescription d)
    {
        if (string.IsNullOrWhiteSpace(c.Name)) throw new ProteaException("a new class needs a name", "name");
        if (d.ClassNames.Contains(c.Name, StringComparer.Ordinal))
            throw new ProteaException($"class '{c.Name}' is already one of the model's classes", "name");
        if (c.Images.shape[0] == 0) throw new ProteaException($"class '{c.Name}' has no images", "data");
        var shape = c.Images.shape[1..];
        if (d.InputKind == InputKind.Tabular)
        {
            if (!shape.SequenceEqual(d.InputShape))
                throw new ProteaException($"class '{c.Name}': the rows have shape [{string.Join(", ", shape)}], the model takes [{string.Join(", ", d.InputShape)}]", "data");
            return;
        }
        if (shape.Length != 3 || shape[0] != d.InputShape[0])
            throw new ProteaException($"class '{c.Name}': the images have {(shape.Length == 3 ? shape[0] : 0)} channels, the model takes {d.InputShape[0]}", "data");
        if (!shape.SequenceEqual(d.InputShape))
            throw new ProteaException($"class '{c.Name}': the images are [{string.Join(", ", shape)}], the model takes [{string.Join(", ", d.InputShape)}]", "data");
    }

    /// <summary>
    /// Writes the model to a new folder beside <paramref name="modelDir"/> and swaps it in; returns what
    /// became of model.onnx. <paramref name="beforeSwap"/> runs when the new folder is complete (a test
    /// interrupts the save there); if anything fails, the old folder is left as it was. A kept training
    /// index (Search/NearestTrainingEvidence) is carried over with the <paramref name="added"/> classes'
    /// items appended (ids "CLASS/learned-K"), so nearest-item evidence goes on after a class is added.
    /// </summary>
    public static string Save(ModelBundle grown, string modelDir, Action<string>? beforeSwap = null, IReadOnlyList<NewClass>? added = null)
    {
        var full = Path.GetFullPath(modelDir).TrimEnd(Path.DirectorySeparatorChar);
        var staging = $"{full}.learn-{Guid.NewGuid():N}";
        var retired = $"{full}.old-{Guid.NewGuid():N}";
        string onnx;
        try
        {
            Directory.CreateDirectory(staging);
            // Files other than the model's own (reports, plots) come along; the unknown calibration does not fit the new classes.
            var own = new HashSet<string>([ModelBundle.WeightsFile, ModelBundle.DescriptionFile, OnnxModelFile.FileName, "unknown.safetensors"], StringComparer.Ordinal);
            if (grown.Description.TrainingIndex is null) own.Add(Search.NearestTrainingEvidence.FileName);
            foreach (var file in Directory.EnumerateFiles(full))
                if (!own.Contains(Path.GetFileName(file))) File.Copy(file, Path.Combine(staging, Path.GetFileName(file)));
            grown.Save(staging);
            var hadOnnx = File.Exists(OnnxModelFile.PathIn(full));
            if (hadOnnx && OnnxExporter.CanExport(grown.Description))
            {
                OnnxExporter.Export(staging);
                onnx = "re-exported";
            }
            else onnx = hadOnnx ? "removed (the head has no ONNX export)" : "none";
            if (added is { Count: > 0 })
            {
                using var items = cat(added.Select(c => c.Images).ToArray(), 0);
                Search.NearestTrainingEvidence.Extend(full, staging, items, added.SelectMany(c => Enumerable.Repeat(c.Name, (int)c.Images.shape[0])).ToArray(),
                    added.SelectMany(c => Enumerable.Range(0, (int)c.Images.shape[0]).Select(k => $"{c.Name}/learned-{k}")).ToArray(), full);
            }
            beforeSwap?.Invoke(staging);
            Directory.Move(full, retired);
            Directory.Move(staging, full);
        }
        catch
        {
            if (!Directory.Exists(full) && Directory.Exists(retired)) Directory.Move(retired, full);
            if (Directory.Exists(staging)) Directory.Delete(staging, recursive: true);
            throw;
        }
        Directory.Delete(retired, recursive: true);
        return onnx;
    }

    /// <summary>
    /// Reads new classes from a folder: class sub-folders (each one class, named after the folder), or a
    /// flat folder of images that is one class named <paramref name="name"/>. Images are decoded to the
    /// model's input shape; a file that is not an image, an empty folder and images whose channel count
    /// the model cannot take are refused.
    /// </summary>
    public static IReadOnlyList<NewClass> ReadFolder(string folder, string? name, ModelDescription d)
    {
        if (!Directory.Exists(folder)) throw new ProteaException($"{folder}: no such folder", "data");
        var subfolders = Directory.GetDirectories(folder).Order(StringComparer.Ordinal).ToArray();
        var looseFiles = Directory.GetFiles(folder).Where(f => !Path.GetFileName(f).StartsWith('.')).Order(StringComparer.Ordinal).ToArray();
        List<(string Name, string[] Files)> groups;
        if (name is not null)
        {
            if (subfolders.Length > 0 && looseFiles.Length == 0)
                throw new ProteaException($"{folder}: holds class sub-folders; a class name is given only for a flat folder of images", "name");
            groups = [(name, looseFiles)];
        }
        else
        {
            if (subfolders.Length == 0)
                throw new ProteaException(looseFiles.Length == 0 ? $"{folder}: the folder is empty" : $"{folder}: a flat folder of images needs a class name", looseFiles.Length == 0 ? "data" : "name");
            if (looseFiles.Length > 0)
                throw new ProteaException($"{looseFiles[0]}: a file beside the class sub-folders; put it in its class's folder", "data");
            groups = subfolders.Select(s => (Path.GetFileName(s), Directory.GetFiles(s).Where(f => !Path.GetFileName(f).StartsWith('.')).Order(StringComparer.Ordinal).ToArray())).ToList();
        }
        var (channels, height, width) = ((int)d.InputShape[0], (int)d.InputShape[1], (int)d.InputShape[2]);
        var result = new List<NewClass>();
        foreach (var (className, files) in groups)
        {
            if (files.Length == 0) throw new ProteaException($"{folder}: class '{className}' has no images (the folder is empty)", "data");
            foreach (var f in files)
            {
                var header = ImageDecoder.HasImageExtension(f) ? ImageDecoder.Probe(f) : null;
                if (header is null) throw new ProteaException($"{f}: not an image file (PNG, JPEG, WebP, BMP or GIF)", "data");
                if (channels == 1 && !header.IsGray)
                    throw new ProteaException($"{f}: a colour image; the model takes 1-channel (grayscale) images", "data");
            }
            result.Add(new NewClass(className, ImageDecoder.DecodeMany(files, channels, height, width)));
        }
        return result;
    }
}

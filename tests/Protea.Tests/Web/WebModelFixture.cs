using Protea.Tests.Support;
using Protea.Web;
using SkiaSharp;

namespace Protea.Tests.Web;

/// <summary>
/// A tiny NCM model of three Fashion-MNIST classes (T-shirt, Trouser, Bag), trained once by `protea train`
/// from PNG folders with the training index kept (nearest-item evidence), plus PNG bytes of held-out
/// images of those classes and of Sneakers (a class to teach).
/// </summary>
public sealed class WebModelFixture : IDisposable
{
    public static readonly (int Label, string Name)[] Known = [(0, "tshirt"), (1, "trouser"), (8, "bag")];
    public const int SneakerLabel = 7;

    public WebModelFixture()
    {
        var (images, labels) = FashionMnist.FirstTrainImages(3000);
        using (images)
        {
            var pixels = images.data<byte>().ToArray();
            byte[] Png(int i) => Encode(pixels.AsSpan(i * 784, 784));
            var taken = new Dictionary<long, int>();
            for (var i = 0; i < labels.Length; i++)
            {
                var label = labels[i];
                var count = taken.GetValueOrDefault(label);
                taken[label] = count + 1;
                var known = Known.FirstOrDefault(k => k.Label == label);
                if (known.Name is not null)
                {
                    if (count < 60) File.WriteAllBytes(Path.Combine(Directory.CreateDirectory(Dir.File($"data/{known.Name}")).FullName, $"{i}.png"), Png(i));
                    else if (count < 70) HeldOut.Add((known.Name, Png(i)));
                }
                else if (label == SneakerLabel && count < 30) Sneakers.Add(Png(i));
            }
        }
        var result = CliRunner.Run("train", "--data", Dir.File("data"), "--head", "ncm", "--epochs", "2", "--keep-index", "--out", Dir.File("model"),
            "--threads", "2", "--seed", "1");
        if (result.ExitCode != 0) throw new InvalidOperationException($"training the web test model failed: {result.Stderr}");
    }

    public TempDir Dir { get; } = new();
    public string ModelDir => Dir.File("model");

    /// <summary>Held-out PNGs of the known classes, by class name.</summary>
    public List<(string Class, byte[] Png)> HeldOut { get; } = [];

    /// <summary>PNGs of a class the model does not know.</summary>
    public List<byte[]> Sneakers { get; } = [];

    public static byte[] Encode(ReadOnlySpan<byte> gray28)
    {
        var info = new SKImageInfo(28, 28, SKColorType.Gray8, SKAlphaType.Opaque);
        using var bitmap = new SKBitmap(info);
        gray28.CopyTo(bitmap.GetPixelSpan());
        using var data = bitmap.Encode(SKEncodedImageFormat.Png, 100);
        return data.ToArray();
    }

    /// <summary>A copy of the model in a fresh folder, for a test that changes it.</summary>
    public string CopyModel(TempDir dir)
    {
        var target = dir.File("model");
        Directory.CreateDirectory(target);
        foreach (var f in Directory.GetFiles(ModelDir)) File.Copy(f, Path.Combine(target, Path.GetFileName(f)));
        return target;
    }

    /// <summary>A server over a copy of the model (in <paramref name="dir"/>) on a free loopback port.</summary>
    public async Task<ProteaServer> Serve(TempDir dir, long maxUpload = WebOptions.DefaultMaxUploadBytes, int maxFiles = WebOptions.DefaultMaxFiles) =>
        await ProteaServer.StartAsync(new WebOptions { ModelDir = CopyModel(dir), Port = 0, MaxUploadBytes = maxUpload, MaxFiles = maxFiles });

    public void Dispose() => Dir.Dispose();
}

using System.Diagnostics;
using Protea.Data;
using SkiaSharp;

namespace Protea.Bench;

/// <summary>
/// Decode cost per image on one thread, as CPU time (steady under load, unlike wall time): the whole
/// <see cref="ImageDecoder.DecodeInto(string, int, int, int, Span{byte})"/>, Skia's decode alone, and the header probe.
/// </summary>
public static class ScaleDecode
{
    public sealed record Result(int Images, double DecodeCpuMicros, double SkiaOnlyCpuMicros, double ProbeCpuMicros);

    public static Result Measure(string data, int n)
    {
        var files = Directory.EnumerateFiles(data, "*.jpg", SearchOption.AllDirectories).Order(StringComparer.Ordinal).Take(n).ToList();
        var header = ImageDecoder.Probe(files[0])!;
        var buffer = new byte[3 * header.Width * header.Height];
        double Cpu(Action<string> one)
        {
            foreach (var f in files.Take(50)) one(f); // warm up (JIT, page cache)
            using var self = Process.GetCurrentProcess();
            var start = self.TotalProcessorTime;
            foreach (var f in files) one(f);
            self.Refresh();
            return (self.TotalProcessorTime - start).TotalMicroseconds / files.Count;
        }
        var decode = Cpu(f => ImageDecoder.DecodeInto(f, 3, header.Height, header.Width, buffer));
        var skia = Cpu(f =>
        {
            using var codec = SKCodec.Create(f);
            var info = new SKImageInfo(codec.Info.Width, codec.Info.Height, SKColorType.Rgba8888, SKAlphaType.Unpremul);
            using var bitmap = new SKBitmap(info);
            codec.GetPixels(info, bitmap.GetPixels());
        });
        var probe = Cpu(f => ImageDecoder.Probe(f));
        return new Result(files.Count, decode, skia, probe);
    }
}

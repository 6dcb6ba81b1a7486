using System.Diagnostics;
using Protea.Data;
using SkiaSharp;

namespace Protea.Bench;

/// <summary>
/// Decode cost per image on one thread, as CPU time (steady under load, unlike wall time): the whole
/// <see cref="ImageDecoder.DecodeInto(string, int, int, int, Span{byte})"/> (libjpeg-turbo when installed), SkiaSharp's
/// decode alone, libturbojpeg's alone (reading the file included), and the header probe.
/// </summary>
public static class ScaleDecode
{
    public sealed record Result(int Images, bool TurboJpeg, double DecodeCpuMicros, double SkiaOnlyCpuMicros, double SkiaIntoBufferCpuMicros,
        double? TurboIntoBufferCpuMicros, double ProbeCpuMicros);

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
        void Decode(string f) => ImageDecoder.DecodeInto(f, 3, header.Height, header.Width, buffer);
        Cpu(Decode); // a first round warms the JIT's optimised code for every step
        var decode = Cpu(Decode);
        var skia = Cpu(f =>
        {
            using var codec = SKCodec.Create(f);
            var info = new SKImageInfo(codec.Info.Width, codec.Info.Height, SKColorType.Rgba8888, SKAlphaType.Unpremul);
            using var bitmap = new SKBitmap(info);
            codec.GetPixels(info, bitmap.GetPixels());
        });
        var rgba = new byte[4 * header.Width * header.Height];
        var pin = System.Runtime.InteropServices.GCHandle.Alloc(rgba, System.Runtime.InteropServices.GCHandleType.Pinned);
        var skiaBuffer = Cpu(f =>
        {
            using var codec = SKCodec.Create(f);
            var info = new SKImageInfo(codec.Info.Width, codec.Info.Height, SKColorType.Rgba8888, SKAlphaType.Unpremul);
            codec.GetPixels(info, pin.AddrOfPinnedObject());
        });
        pin.Free();
        var turbo = TurboJpeg.IsAvailable
            ? Cpu(f =>
            {
                var bytes = File.ReadAllBytes(f);
                if (!TurboJpeg.TryReadHeader(bytes, out int w, out int h) || !TurboJpeg.TryDecodeRgba(bytes, w, h, rgba))
                    throw new InvalidOperationException($"{f}: libturbojpeg refused it");
            })
            : (double?)null;
        var probe = Cpu(f => ImageDecoder.Probe(f));
        decode = Math.Min(decode, Cpu(Decode)); // again last, so the order of the rounds cannot favour one
        return new Result(files.Count, ImageDecoder.UseTurboJpeg, decode, skia, skiaBuffer, turbo, probe);
    }
}

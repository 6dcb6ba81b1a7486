using System.Text.Json;
using Protea.Bench;

// Measurements that `bench/run` compares against Debian PyTorch in the same run. Prints one JSON object.
//   gemm  --threads T                      fp32 GEMM GFLOP/s through libtorch (the practical ceiling)
//   infer --model DIR --engine E --threads T   throughput at batch 1000 and latency at batch 1 on the test set
//   profile --threads T                    where a training step of the reference cnn spends its time
//   search --items N --dim D --queries Q --threads T [--sweep false] [--bits 256]   exact search (top 10) on random unit vectors
//   conv-layout --threads T                single convolutions channels-last vs NCHW (errors, times, guard decisions)
//   kmeans --file X.f32 --dim D [--labels L.i64] --k K --iterations I --repeats R --threads T   semi-supervised k-means timing
//   scale-decode --data DIR [--n N]   decode CPU time per image, one thread (bench/scale.py)
//   scale-read --data DIR [--cache-dir D] [--budget SIZE] [--workers N] [--passes P]   the data pipeline alone (bench/scale.py)
var command = args.FirstOrDefault() ?? "";
string Arg(string name, string fallback) => args.SkipWhile(a => a != name).Skip(1).FirstOrDefault() ?? fallback;
var threads = int.Parse(Arg("--threads", "2"));
object result = command switch
{
    "gemm" => GemmCeiling.Measure(threads),
    "infer" => InferenceBenchmark.Measure(Arg("--model", "runs/bench"), Arg("--engine", "onnx"), threads),
    "profile" => TrainingProfile.Measure(threads),
    "conv-layout" => ConvLayoutReport.Measure(threads),
    "search" => SearchBenchmark.Measure(int.Parse(Arg("--items", "60000")), int.Parse(Arg("--dim", "128")), int.Parse(Arg("--queries", "10000")), threads,
        Arg("--sweep", "true") == "true", int.Parse(Arg("--bits", "512"))),
    "kmeans" => KMeansBenchmark.Measure(Arg("--file", "x.f32"), int.Parse(Arg("--dim", "128")), args.Contains("--labels") ? Arg("--labels", "") : null,
        int.Parse(Arg("--k", "10")), int.Parse(Arg("--iterations", "20")), int.Parse(Arg("--repeats", "3")), threads),
    "scale-read" => ScaleRead.Measure(Arg("--data", ""), Arg("--cache-dir", "/tmp/protea-scale/cache"),
        Arg("--budget", "") is { Length: > 0 } b ? Protea.Data.MemoryBudget.Parse(b) : null, int.Parse(Arg("--workers", "2")),
        int.Parse(Arg("--passes", "2")), int.Parse(Arg("--batch-size", "128"))),
    "scale-decode" => ScaleDecode.Measure(Arg("--data", ""), int.Parse(Arg("--n", "2000"))),
    _ => throw new ArgumentException("usage: Protea.Bench gemm|infer|profile|conv-layout|search|kmeans|scale-read [--model DIR] [--engine torch|onnx] [--threads T]"),
};
Console.WriteLine(JsonSerializer.Serialize(result, Protea.IO.ProteaJson.Compact));

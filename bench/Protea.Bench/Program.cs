using System.Text.Json;
using Protea.Bench;

// Measurements that `bench/run` compares against Debian PyTorch in the same run. Prints one JSON object.
//   gemm  --threads T                      fp32 GEMM GFLOP/s through libtorch (the practical ceiling)
//   infer --model DIR --engine E --threads T   throughput at batch 1000 and latency at batch 1 on the test set
//   profile --threads T                    where a training step of the reference cnn spends its time
//   conv-layout --threads T                single convolutions channels-last vs NCHW (errors, times, guard decisions)
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
    "scale-read" => ScaleRead.Measure(Arg("--data", ""), Arg("--cache-dir", "/tmp/protea-scale/cache"),
        Arg("--budget", "") is { Length: > 0 } b ? Protea.Data.MemoryBudget.Parse(b) : null, int.Parse(Arg("--workers", "2")),
        int.Parse(Arg("--passes", "2")), int.Parse(Arg("--batch-size", "128"))),
    _ => throw new ArgumentException("usage: Protea.Bench gemm|infer|profile|conv-layout|scale-read [--model DIR] [--engine torch|onnx] [--threads T]"),
};
Console.WriteLine(JsonSerializer.Serialize(result, Protea.IO.ProteaJson.Compact));

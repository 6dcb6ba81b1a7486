using System.Diagnostics;
using Protea.Data;
using Protea.Models;
using Protea.Training;
using Protea.Training.Optimizers;
using TorchSharp;
using static TorchSharp.torch;

namespace Protea.Bench;

/// <summary>
/// Where a training step of the reference cnn goes (batch 128, real Fashion-MNIST batches): data
/// (gather, flip, normalise), forward, backward and optimizer, and the forward split by layer type.
/// </summary>
public static class TrainingProfile
{
    public sealed record Result(int Threads, int Steps, double DataMs, double ForwardMs, double BackwardMs, double OptimizerMs,
        double StepMs, IReadOnlyDictionary<string, double> ForwardByLayerMs);

    public static Result Measure(int threads, int steps = 60, int batch = 128)
    {
        set_num_threads(threads);
        manual_seed(0);
        using var splits = DataSpec.Parse(DataSpec.FashionMnistName).Load();
        var train = splits.Train;
        var normalization = InputNormalization.Fit(train.Inputs);
        var model = new Classifier(new ReferenceCnn(1), new LinearHead(128, 10));
        using var optimizer = new Sgd(model.named_parameters().Select(p => (p.name, p.parameter)).ToList(), 5e-4, nesterov: true);
        var augmenter = new BatchAugmenter(flip: true, cropPadding: 0);
        using var labels = tensor(train.Labels);
        using var generator = new Generator(1);
        using var perm = randperm(train.Count, generator: generator);
        model.train();
        double data = 0, fwd = 0, bwd = 0, opt = 0;
        var watch = new Stopwatch();
        var total = Stopwatch.StartNew();
        const int warmup = 5;
        for (var s = 0; s < steps + warmup; s++)
        {
            if (s == warmup) { data = fwd = bwd = opt = 0; total.Restart(); }
            using var scope = NewDisposeScope();
            watch.Restart();
            var index = perm.narrow(0, (long)s * batch, batch);
            var x = normalization.Apply(augmenter.Apply(train.Inputs.index_select(0, index), generator));
            var y = labels.index_select(0, index);
            data += watch.Elapsed.TotalMilliseconds;
            watch.Restart();
            var loss = nn.functional.cross_entropy(model.forward(x), y);
            fwd += watch.Elapsed.TotalMilliseconds;
            watch.Restart();
            optimizer.ZeroGrad();
            loss.backward();
            bwd += watch.Elapsed.TotalMilliseconds;
            watch.Restart();
            optimizer.Step(0.01, 0.9);
            opt += watch.Elapsed.TotalMilliseconds;
        }
        var stepMs = total.Elapsed.TotalMilliseconds / steps;
        return new Result(threads, steps, data / steps, fwd / steps, bwd / steps, opt / steps, stepMs, ForwardByLayer(batch));
    }

    /// <summary>Forward time of each layer type at the network's shapes, channels-last after the first conv as the model runs.</summary>
    private static Dictionary<string, double> ForwardByLayer(int n)
    {
        using var scope = NewDisposeScope();
        var shapes = new (long Cin, long Cout, long Side)[] { (1, 32, 28), (32, 32, 28), (32, 64, 14), (64, 64, 14), (64, 128, 7) };
        var result = new Dictionary<string, double> { ["conv"] = 0, ["batchnorm"] = 0, ["relu"] = 0, ["maxpool"] = 0, ["layout"] = 0 };
        foreach (var (cin, cout, side) in shapes)
        {
            var x = randn(n, cin, side, side);
            if (cin > 1) x = ChannelsLast.Convert(x);
            var w = randn(cout, cin, 3, 3);
            var y = nn.functional.conv2d(x, w, padding: [1, 1]);
            result["conv"] += Time(() => nn.functional.conv2d(x, w, padding: [1, 1]));
            var (rm, rv, g, b) = (zeros(cout), ones(cout), ones(cout), zeros(cout));
            result["batchnorm"] += Time(() => nn.functional.batch_norm(y, rm, rv, g, b, training: true));
            result["relu"] += Time(() => nn.functional.relu(y));
            if (cout <= 64 && cin == cout) result["maxpool"] += Time(() => nn.functional.max_pool2d(y, 2));
            if (cin == 1) result["layout"] += Time(() => ChannelsLast.Convert(y));
        }
        return result;
    }

    private static double Time(Func<Tensor> op, int repeats = 20)
    {
        for (var i = 0; i < 3; i++) { using var s = NewDisposeScope(); op(); }
        var watch = Stopwatch.StartNew();
        for (var i = 0; i < repeats; i++) { using var s = NewDisposeScope(); op(); }
        return watch.Elapsed.TotalMilliseconds / repeats;
    }
}

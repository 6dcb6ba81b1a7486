using Protea.Models;
using TorchSharp;
using static TorchSharp.torch;

namespace Protea.Prototypes;

/// <summary>What the convex last-layer fit did: the steps it took, whether it met the tolerance, and the objective before and after.</summary>
public sealed record LastLayerFit(int Steps, bool Converged, double InitialLoss, double FinalLoss);

/// <summary>
/// ProtoPNet's last-layer stage: with everything before it fixed, the last layer [K, P] alone learns
/// by cross-entropy plus L1 on the wrong-class connections. Since nothing before it changes, each
/// training image's similarities are computed once, and the stage is a convex problem on that [N, P]
/// matrix: <see cref="Fit"/> solves it with full-batch proximal gradient steps (FISTA with adaptive
/// restart, step 1/L from the exact Lipschitz bound, float64) until the gradient mapping is below a
/// tolerance. <see cref="Tune"/> is the earlier mini-batch Adam stage sized in epochs, kept for comparison.
/// </summary>
public static class LastLayerTuning
{
    public const double LearningRate = 1e-3;
    public const int BatchSize = 128;

    /// <summary>The fit stops when every entry of the gradient mapping (the proximal step's move divided by the step size) is below this.</summary>
    public const double Tolerance = 1e-5;

    /// <summary>The objective: mean cross-entropy of similarities x weight^T plus l1 times the wrong-class connections' L1 norm.</summary>
    public static double Loss(Tensor similarities, long[] labels, Tensor weight, Tensor classIdentity, double l1)
    {
        using var scope = NewDisposeScope();
        using var no = no_grad();
        var s = similarities.to(float64);
        var w = weight.to(float64);
        var ce = nn.functional.cross_entropy(matmul(s, w.T), tensor(labels)).item<double>();
        var wrong = w.mul(classIdentity.to(float64).neg().add(1)).abs().sum().item<double>();
        return ce + l1 * wrong;
    }

    /// <summary>
    /// Minimises <see cref="Loss"/> over the weight from <paramref name="initial"/> (left as it is) with at
    /// most <paramref name="maxSteps"/> full-batch steps; returns the weight [K, P] (float32, a new tensor).
    /// </summary>
    public static Tensor Fit(Tensor similarities, long[] labels, Tensor initial, Tensor classIdentity, double l1, int maxSteps, out LastLayerFit fit)
    {
        using var no = no_grad();
        var w = initial.detach().to(float64).clone();
        using var s = similarities.detach().to(float64).contiguous();
        var n = s.shape[0];
        var k = initial.shape[0];
        using var index = tensor(labels);
        using var y = nn.functional.one_hot(index, k).to(float64);
        using var wrongMask = classIdentity.to(float64).neg().add(1);
        var initialLoss = Loss(similarities, labels, initial, classIdentity, l1);
        if (maxSteps == 0 || n == 0)
        {
            fit = new LastLayerFit(0, false, initialLoss, initialLoss);
            return initial.detach().clone();
        }
        // The Hessian of the mean cross-entropy in W is the mean of (diag(p) - p p^T) (x) s s^T; the first
        // factor's eigenvalues are at most 1/2, so L = lambda_max(S^T S / N) / 2 bounds its curvature.
        double lipschitz;
        using (var gram = matmul(s.T, s).div(n))
        using (var eig = linalg.eigvalsh(gram))
            lipschitz = Math.Max(eig.max().item<double>() / 2, 1e-12);
        var t = 1 / lipschitz;
        using var threshold = (t * l1).ToScalar();
        using var stepScalar = t.ToScalar();
        var z = w.clone();
        double momentum = 1;
        var steps = 0;
        var converged = false;
        Tensor Gradient(Tensor at)
        {
            using var scope = NewDisposeScope();
            var p = nn.functional.softmax(matmul(s, at.T), 1);
            return matmul(p.sub(y).T, s).div(n).MoveToOuterDisposeScope();
        }
        // Soft-thresholding of the wrong-class connections only; own-class ones are unpenalised.
        Tensor Prox(Tensor v)
        {
            using var scope = NewDisposeScope();
            var shrunk = v.sign().mul(v.abs().sub(threshold).clamp_min(0));
            return where(wrongMask.gt(0), shrunk, v).MoveToOuterDisposeScope();
        }
        while (steps < maxSteps)
        {
            using var scope = NewDisposeScope();
            steps++;
            var next = Prox(z.sub(Gradient(z).mul(stepScalar)));
            var move = z.sub(next);
            if (move.abs().max().item<double>() / t < Tolerance)
            {
                w.Dispose();
                w = next.MoveToOuterDisposeScope();
                converged = true;
                break;
            }
            // Adaptive restart (O'Donoghue & Candes 2015): drop the momentum when it points uphill.
            var restart = move.mul(next.sub(w)).sum().item<double>() > 0;
            var nextMomentum = restart ? 1 : (1 + Math.Sqrt(1 + 4 * momentum * momentum)) / 2;
            var beta = restart ? 0 : (momentum - 1) / nextMomentum;
            var nextZ = next.add(next.sub(w).mul(beta));
            w.Dispose();
            z.Dispose();
            w = next.MoveToOuterDisposeScope();
            z = nextZ.MoveToOuterDisposeScope();
            momentum = nextMomentum;
        }
        z.Dispose();
        var result = w.to(float32);
        w.Dispose();
        fit = new LastLayerFit(steps, converged, initialLoss, Loss(similarities, labels, result, classIdentity, l1));
        return result;
    }

    /// <summary>The mini-batch Adam stage: returns the tuned weight [K, P] (a new tensor); <paramref name="initial"/> is left as it is.</summary>
    public static Tensor Tune(Tensor minDistances, long[] labels, Tensor initial, Tensor classIdentity, double l1, int epochs, int seed)
    {
        using var no = no_grad();
        if (epochs == 0) return initial.detach().clone();
        var weight = new TorchSharp.Modules.Parameter(initial.detach().clone());
        using var similarities = PartsHead.Similarity(minDistances);
        using var y = tensor(labels);
        using var optimizer = optim.Adam([weight], lr: LearningRate);
        using var generator = new Generator((ulong)seed);
        using var l1Scalar = l1.ToScalar();
        var n = similarities.shape[0];
        for (var epoch = 0; epoch < epochs; epoch++)
        {
            using var order = randperm(n, generator: generator);
            for (long start = 0; start < n; start += BatchSize)
            {
                using var scope = NewDisposeScope();
                using var grad = enable_grad();
                var index = order.narrow(0, start, Math.Min(BatchSize, n - start));
                var logits = nn.functional.linear(similarities.index_select(0, index), weight);
                var loss = nn.functional.cross_entropy(logits, y.index_select(0, index))
                    .add(PrototypeCosts.WrongClassL1(weight, classIdentity).mul(l1Scalar));
                optimizer.zero_grad();
                loss.backward();
                optimizer.step();
            }
        }
        var result = weight.detach().clone();
        weight.Dispose();
        return result;
    }
}

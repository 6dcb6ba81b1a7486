using System.Text.Json;
using Protea.Evaluation;
using Protea.IO;
using Protea.Models;
using Protea.Training.Optimizers;
using TorchSharp;
using static TorchSharp.torch;

namespace Protea.Training;

/// <summary>
/// The state after a finished epoch, in OUT/checkpoint/: weights (safetensors), optimizer state and
/// state.json (written last, so it only ever points at complete files). Randomness is derived from
/// (seed, epoch), so resuming from here continues to the same result as an uninterrupted run.
/// </summary>
public sealed class Checkpoint(string runDir)
{
    private readonly string dir = Path.Combine(runDir, "checkpoint");

    private string StatePath => Path.Combine(dir, "state.json");
    private string WeightsPath => Path.Combine(dir, "weights.safetensors");
    private string OptimizerPath => Path.Combine(dir, "optimizer.safetensors");
    private string BestPath => Path.Combine(dir, "best.safetensors");

    public sealed record State(int CompletedEpochs, TrainOptions Options, InputNormalization Normalization, IReadOnlyList<EpochRecord> History);

    public bool Exists => File.Exists(StatePath);

    public void Save(State state, nn.Module model, IOptimizer optimizer)
    {
        SafeTensors.Write(WeightsPath, model.state_dict());
        SafeTensors.Write(OptimizerPath, optimizer.State());
        AtomicFile.WriteAllText(StatePath, JsonSerializer.Serialize(state, ProteaJson.Options));
    }

    /// <summary>Restores weights and optimizer state; refuses a checkpoint made with different options.</summary>
    public State Load(TrainOptions options, nn.Module model, IOptimizer optimizer)
    {
        State? state;
        try
        {
            state = JsonSerializer.Deserialize<State>(File.ReadAllText(StatePath), ProteaJson.Options);
        }
        catch (JsonException e)
        {
            throw new ProteaException($"{StatePath}: unreadable checkpoint ({e.Message.Split('\n')[0]}); delete {dir} to start afresh");
        }
        if (state is null)
            throw new ProteaException($"{StatePath}: empty checkpoint; delete {dir} to start afresh");
        if (state.Options with { Epochs = options.Epochs, Threads = options.Threads } != options)
            throw new ProteaException($"{StatePath}: the checkpoint was made with different training options; resume with the same options, or train into a new run folder");
        var tensors = SafeTensors.Read(WeightsPath);
        try { ModelBundle.LoadInto(model, tensors, WeightsPath); }
        finally { foreach (var t in tensors.Values) t.Dispose(); }
        var optimizerState = SafeTensors.Read(OptimizerPath);
        try { optimizer.LoadState(optimizerState, OptimizerPath); }
        finally { foreach (var t in optimizerState.Values) t.Dispose(); }
        return state;
    }

    /// <summary>The best epoch's weights so far (<see cref="Stages.BestEpochKeeper"/>); which epoch that is follows from the history in state.json.</summary>
    public void SaveBest(IReadOnlyDictionary<string, Tensor> weights)
    {
        Directory.CreateDirectory(dir);
        SafeTensors.Write(BestPath, weights);
    }

    /// <summary>The best epoch's weights, or null when none were saved.</summary>
    public Dictionary<string, Tensor>? LoadBest() =>
        File.Exists(BestPath) ? SafeTensors.Read(BestPath).ToDictionary(kv => kv.Key, kv => kv.Value.DetachFromDisposeScope()) : null;

    public void Delete()
    {
        if (Directory.Exists(dir)) Directory.Delete(dir, recursive: true);
    }
}

using Protea.Deploy;
using Protea.Models;
using Protea.Predictions;
using static TorchSharp.torch;

namespace Protea.Mil;

/// <summary>
/// Classifies images as bags with a saved bag model: the patch encoder runs on the engine
/// <see cref="InferenceEngines"/> picks (ONNX Runtime when model.onnx is a current export of the
/// encoder, else TorchSharp), patches stacked at most a patch budget at a time; the pooling head and
/// bag classifier then run in the library on the instance embeddings.
/// </summary>
public sealed class BagPredictor : IDisposable
{
    private readonly MilModel model;
    private readonly IInferenceEngine engine;
    private readonly bool ownsEngine;
    private readonly bool ownsModel;

    /// <summary>A predictor over a model in memory; it disposes the engine and the model only when it owns them.</summary>
    public BagPredictor(MilModel model, IInferenceEngine engine, bool ownsEngine, bool ownsModel = false)
    {
        this.model = model;
        this.engine = engine;
        this.ownsEngine = ownsEngine;
        this.ownsModel = ownsModel;
        PatchBudget = model.Description.Options.PatchBudget;
    }

    public static BagPredictor Open(string modelDir, EngineChoice choice = EngineChoice.Auto, int threads = 0)
    {
        var model = MilModel.Load(modelDir);
        try
        {
            return new BagPredictor(model, InferenceEngines.Open(modelDir, choice, threads), ownsEngine: true, ownsModel: true);
        }
        catch
        {
            model.Dispose();
            throw;
        }
    }

    public MilModel Model => model;
    public string EngineName => engine.Name;

    /// <summary>Patches stacked per encoder call (default: the budget the model was trained with).</summary>
    public int PatchBudget { get; init; }

    public BagPrediction Predict(string path, int topPatches = 5)
    {
        using var bag = BagImage.Read(path, (int)model.EncoderDescription.InputShape[0], model.Description.Grid, model.Description.BackgroundFilter);
        return Predict(bag, topPatches);
    }

    public BagPrediction Predict(BagImage bag, int topPatches = 5)
    {
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        var (embeddings, instanceLogits) = MilModel.Encode(engine, bag, PatchBudget);
        using var segments = new BagSegments([bag.Count]);
        var outputs = model.Network.Pool(embeddings, instanceLogits, segments);
        var probabilities = outputs.BagLogits.to(float64).softmax(1).data<double>().ToArray();
        var weights = outputs.Weights.to(float64).data<double>().ToArray();
        var classes = model.Description.ClassNames;
        var top = Enumerable.Range(0, classes.Count).OrderByDescending(i => probabilities[i]).ThenBy(i => i)
            .Select(i => new ClassProbability(classes[i], probabilities[i])).ToList();
        var evidence = Enumerable.Range(0, bag.Count).OrderByDescending(i => weights[i]).ThenBy(i => i).Take(topPatches)
            .Select((i, r) => (Evidence)new PatchEvidence(r + 1, bag.Boxes[i], weights[i])).ToList();
        var prediction = new Prediction(bag.Name, top[0].Class, top[0].Probability, top, outputs.BagEmbeddings.ToFloats())
        {
            Evidence = evidence,
        };
        return new BagPrediction(prediction, bag.Width, bag.Height, bag.Boxes, weights);
    }

    public void Dispose()
    {
        if (ownsEngine) engine.Dispose();
        if (ownsModel) model.Dispose();
    }
}

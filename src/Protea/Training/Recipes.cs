namespace Protea.Training;

/// <summary>Named training recipes; command-line options override their fields.</summary>
public static class Recipes
{
    public static readonly IReadOnlyList<string> Names = ["quick", "full", "auto"];

    /// <summary>The recipe chosen from the data once it is read (<see cref="AutoRecipe"/>).</summary>
    public const string Auto = "auto";

    /// <summary>The measured recipe for the data sets it was measured on (Fashion-MNIST: quick), else auto.</summary>
    public static string DefaultFor(Data.DataSourceKind kind) => kind == Data.DataSourceKind.FashionMnist ? "quick" : Auto;

    /// <summary>
    /// quick: the reference network to >= 92 % Fashion-MNIST test accuracy in a few minutes on two
    /// cores. OneCycle SGD with Nesterov momentum and flips, as in the PyTorch anchor.
    /// full: five times longer, with random crops and label smoothing, aiming at >= 94.5 %.
    /// Neither holds data out when the data has a test set of its own: that is monitored each epoch
    /// instead (it never steers training), so all 60,000 Fashion-MNIST images train.
    /// auto: a placeholder (the defaults: no flips or crops) until <see cref="AutoRecipe.Choose"/> sees the data.
    /// </summary>
    public static TrainOptions Get(string name) => name switch
    {
        "quick" => new TrainOptions
        {
            Epochs = 4, BatchSize = 128, LearningRate = 0.1, WeightDecay = 5e-4, Schedule = "onecycle",
            Flip = true,
        },
        "full" => new TrainOptions
        {
            Epochs = 20, BatchSize = 128, LearningRate = 0.1, WeightDecay = 5e-4, Schedule = "onecycle",
            Flip = true, CropPadding = 2, LabelSmoothing = 0.1,
        },
        Auto => new TrainOptions(),
        _ => throw new ProteaException($"recipe '{name}' is not known; known: {string.Join(", ", Names)}", "recipe"),
    };
}

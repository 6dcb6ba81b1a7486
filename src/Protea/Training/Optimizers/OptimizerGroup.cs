using TorchSharp.Modules;

namespace Protea.Training.Optimizers;

/// <summary>
/// Parameters that share their update settings, as one of torch.optim's param_groups: the step's
/// learning rate is the schedule's value times <see cref="LearningRateScale"/>, and each group has its
/// own weight decay. Frozen parameters belong to no group (they get no update and no state).
/// </summary>
public sealed record OptimizerGroup(IReadOnlyList<(string Name, Parameter Param)> Parameters, double WeightDecay, double LearningRateScale = 1);

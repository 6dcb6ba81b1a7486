using Protea.Models;
using Protea.Prototypes;

namespace Protea.Training.Stages;

/// <summary>
/// ProtoPNet's warm-up: for the first epochs (<see cref="PartsOptions.Warmup"/>) the backbone is frozen
/// and only the add-on and the prototypes (and the last layer) learn, so that the randomly initialised
/// add-on does not wreck the backbone's features; then the joint epochs train everything. Freezing is
/// what <see cref="ParameterGroup.Freeze"/> does (no gradient, so no update and no optimizer state; the
/// trainer then keeps frozen BatchNorm statistics), switched per epoch; parameters the run froze
/// itself stay frozen.
/// </summary>
public sealed class PartsWarmupStage : IStage
{
    private readonly ParameterGroup backbone = ParameterGroup.Freeze("backbone.*");
    private List<TorchSharp.Modules.Parameter>? trainable;

    public void BeforeEpoch(StageContext context, int epoch)
    {
        var warmup = (context.Options.Parts ?? new PartsOptions()).Warmup(context.Options.Epochs, pretrained: context.Options.Init is not null);
        trainable ??= context.Model.named_parameters().Where(p => backbone.Matches(p.name) && p.parameter.requires_grad).Select(p => p.parameter).ToList();
        foreach (var p in trainable) p.requires_grad = epoch >= warmup;
    }
}

using Protea.Models;

namespace Protea.Explanations;

/// <summary>A registered explanation method: its name, one line for the CLI's help, and how to build it from the options.</summary>
public sealed record ExplainerSpec(string Name, string Summary, Func<ExplainerOptions, IExplainer> Create) : IComponentSpec
{
    /// <summary>Which models the method explains (prototypes: parts models only); null: every image model.</summary>
    public Func<Models.ModelDescription, bool>? AppliesTo { get; init; }
}

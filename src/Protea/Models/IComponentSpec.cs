namespace Protea.Models;

/// <summary>A registered component: a backbone, a head, later an objective or an explainer.</summary>
public interface IComponentSpec
{
    /// <summary>The name in model.json, TrainOptions and the CLI.</summary>
    string Name { get; }
}

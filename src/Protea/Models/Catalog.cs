namespace Protea.Models;

/// <summary>
/// Components of one kind by name, in registration order (the first of a kind is its default).
/// Registering is thread-safe and idempotent for an equal spec; readers see a snapshot.
/// </summary>
/// <param name="what">How messages name one component ("architecture", "head").</param>
/// <param name="field">The setting a wrong name is reported against (<see cref="ProteaException.Field"/>).</param>
public sealed class Catalog<TSpec>(string what, string field) where TSpec : class, IComponentSpec
{
    private readonly Lock gate = new();
    private volatile TSpec[] specs = [];

    /// <summary>How messages name one component, e.g. "architecture".</summary>
    public string What { get; } = what;

    public string Field { get; } = field;

    public IReadOnlyList<TSpec> All => specs;

    public IReadOnlyList<string> Names => specs.Select(s => s.Name).ToArray();

    /// <summary>Adds a component; registering an equal spec again does nothing, another spec under a taken name is a bug.</summary>
    public void Register(TSpec spec)
    {
        lock (gate)
        {
            var existing = specs.FirstOrDefault(s => s.Name == spec.Name);
            if (Equals(existing, spec)) return;
            if (existing is not null)
                throw new InvalidOperationException($"{What} '{spec.Name}' is already registered");
            specs = [.. specs, spec];
        }
    }

    public bool TryGet(string name, out TSpec spec)
    {
        spec = specs.FirstOrDefault(s => s.Name == name)!;
        return spec is not null;
    }

    /// <summary>The spec named <paramref name="name"/>; an unknown name is a user mistake that lists the known ones.</summary>
    public TSpec Get(string name) => TryGet(name, out var spec)
        ? spec
        : throw new ProteaException($"{What} '{name}' is not known; known: {string.Join(", ", Names)}", Field);
}

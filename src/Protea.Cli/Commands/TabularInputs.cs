using Protea.Data;
using Protea.Models;
using static TorchSharp.torch;

namespace Protea.Cli.Commands;

/// <summary>Feature rows for a tabular model from CSV files laid out as its training file (label cells may be empty).</summary>
public static class TabularInputs
{
    public static (Tensor Inputs, IReadOnlyList<string> Names) Read(IReadOnlyList<string> files, ModelDescription d)
    {
        var parts = new List<Tensor>();
        var names = new List<string>();
        try
        {
            foreach (var file in files)
            {
                using var table = CsvReader.Read(file, d.LabelColumn, CsvReader.IdColumnFor(d.FeatureNames));
                if (d.FeatureNames is { } expected && !table.FeatureNames.SequenceEqual(expected))
                    throw new ProteaException($"{file}: feature columns {string.Join(", ", table.FeatureNames)} differ from the model's {string.Join(", ", expected)}; use the training file's layout");
                parts.Add(table.Data.Inputs.clone());
                names.AddRange(Enumerable.Range(2, table.Data.Count).Select(row => $"{file} row {row}"));
            }
            return (cat(parts, 0), names);
        }
        finally
        {
            foreach (var t in parts) t.Dispose();
        }
    }
}

using System.CommandLine;
using System.Globalization;
using Protea.Data;
using Protea.Mil;

namespace Protea.Cli.Commands;

/// <summary>`protea make-bags`: the MNIST-bags MIL benchmark as Fashion-MNIST mosaics with tile ground truth.</summary>
public static class MakeBagsCommand
{
    public const string Examples = """
        protea make-bags --from fashion-mnist --target Bag --out bags/train --count 500
        protea make-bags --from fashion-mnist --target 8 --out bags/test --split test --count 200 --seed 1
        """;

    private static readonly Option<string> From = new("--from") { Description = "Tile source: fashion-mnist", DefaultValueFactory = _ => "fashion-mnist" };
    private static readonly Option<string> Target = new("--target") { Description = "The class whose presence makes a bag positive: a name (Bag) or an index (8)", Required = true };
    private static readonly Option<string> Out = new("--out") { Description = "Folder for positive/, negative/ and tiles.csv", Required = true };
    private static readonly Option<string> BagSize = new("--bag-size") { Description = "Tiles per bag: N or MIN..MAX", DefaultValueFactory = _ => "16..64" };
    private static readonly Option<double> PositiveRate = new("--positive-rate") { Description = "Share of positive bags", DefaultValueFactory = _ => 0.5 };
    private static readonly Option<int> Count = new("--count") { Description = "How many bags", DefaultValueFactory = _ => 500 };
    private static readonly Option<string> Split = new("--split") { Description = "Which Fashion-MNIST split the tiles come from: train | test", DefaultValueFactory = _ => "train" };
    private static readonly Option<int> Seed = new("--seed") { Description = "Seed for bag sizes, cells and tiles", DefaultValueFactory = _ => 0 };

    public static Command Create(CliConsole console)
    {
        var command = new Command("make-bags", "Write a multiple-instance benchmark (MNIST-bags of Ilse et al. 2018): mosaics of 28x28 Fashion-MNIST tiles, positive when a tile of the target class is present, with tiles.csv giving every tile's box.")
        { From, Target, Out, BagSize, PositiveRate, Count, Split, Seed };
        command.SetAction(p =>
        {
            if (p.GetValue(From) != "fashion-mnist")
                throw new ProteaException($"tile source '{p.GetValue(From)}' is not known; known: fashion-mnist", "from");
            var split = p.GetValue(Split);
            if (split is not ("train" or "test"))
                throw new ProteaException($"split '{split}' is not train or test", "split");
            var target = ParseTarget(p.GetValue(Target)!);
            var (min, max) = BagMosaicGenerator.ParseSize(p.GetValue(BagSize)!);
            using var splits = FashionMnistDataset.Load();
            var tiles = split == "train" ? splits.Train : splits.Test!;
            var summary = BagMosaicGenerator.Write(tiles, new BagMosaicOptions
            {
                TargetClass = target, Count = p.GetValue(Count), MinTiles = min, MaxTiles = max,
                PositiveRate = p.GetValue(PositiveRate), Seed = p.GetValue(Seed),
            }, p.GetValue(Out)!);
            console.Out.WriteLine($"{summary.Directory}: {summary.Positive} positive and {summary.Negative} negative bags, {summary.Tiles} tiles ({summary.TargetTiles} of {FashionMnistDataset.ClassNames[target]}); ground truth in {summary.TilesCsv}");
            return 0;
        });
        return command;
    }

    private static int ParseTarget(string text)
    {
        var names = FashionMnistDataset.ClassNames;
        if (int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var i) && i < names.Count) return i;
        var byName = names.ToList().FindIndex(n => string.Equals(n, text, StringComparison.OrdinalIgnoreCase));
        return byName >= 0 ? byName : throw new ProteaException($"target class '{text}' is not a Fashion-MNIST class; known: {string.Join(", ", names)}", "target");
    }
}

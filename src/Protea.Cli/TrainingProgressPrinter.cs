using Protea.Training;

namespace Protea.Cli;

/// <summary>
/// Shows training progress on stderr: a live line (epoch, batch bar, loss, ETA) on a terminal, one
/// plain line per epoch when redirected, nothing with --json.
/// </summary>
public sealed class TrainingProgressPrinter(TextWriter error, bool live, bool quiet) : IProgress<TrainingProgress>
{
    private const int BarWidth = 24;

    public void Report(TrainingProgress p)
    {
        if (quiet) return;
        var eta = p.Remaining is { } r ? $" ETA {Format(r)}" : "";
        if (p.Completed is { } e)
        {
            var val = e.ValidationAccuracy is { } va ? $"  val loss {e.ValidationLoss:F4}  val acc {va:P2}" : "";
            if (live) error.Write("\r\u001b[2K");
            error.WriteLine($"epoch {e.Epoch}/{p.Epochs}  loss {e.TrainLoss:F4}  acc {e.TrainAccuracy:P2}{val}  {e.Seconds:F1}s  elapsed {Format(p.Elapsed)}{eta}");
            return;
        }
        if (!live) return;
        var filled = (int)Math.Round((double)p.Batch / p.Batches * BarWidth);
        var bar = new string('#', filled) + new string('-', BarWidth - filled);
        error.Write($"\r\u001b[2Kepoch {p.Epoch}/{p.Epochs} [{bar}] {p.Batch}/{p.Batches}  loss {p.RunningLoss:F4}  elapsed {Format(p.Elapsed)}{eta}");
    }

    private static string Format(TimeSpan t) => t.TotalHours >= 1 ? t.ToString(@"h\:mm\:ss") : t.ToString(@"m\:ss");
}

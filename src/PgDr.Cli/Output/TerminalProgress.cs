using PgDr.Progress;

namespace PgDr.Cli.Output;

/// <summary>A one-line progress display on stderr, only when stderr is a terminal (never in logs or pipes).</summary>
internal sealed class TerminalProgress : IProgress<PgDrProgress>
{
    private static readonly bool Enabled = !Console.IsErrorRedirected;

    public void Report(PgDrProgress value)
    {
        if (!Enabled)
        {
            return;
        }

        var percent = value.PercentComplete >= 0 ? $" {value.PercentComplete,3}%" : string.Empty;
        var line = $"{value.Activity}:{percent} {value.Status}";
        var width = Math.Max(20, Console.WindowWidth - 1);
        Console.Error.Write("\r" + (line.Length > width ? line[..width] : line.PadRight(width)));
    }

    public static void Clear()
    {
        if (Enabled)
        {
            Console.Error.Write("\r" + new string(' ', Math.Max(20, Console.WindowWidth - 1)) + "\r");
        }
    }
}

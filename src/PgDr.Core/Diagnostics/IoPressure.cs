using System.Globalization;

namespace PgDr.Diagnostics;

/// <summary>
/// The kernel's I/O pressure stall information (/proc/pressure/io, Linux 4.20+): the share of the last 10 seconds in which
/// some task, or every task, waited for I/O. What tells a replay held back by the standby's disk from one held back by
/// something else (a query conflict, one saturated core).
/// </summary>
internal readonly record struct IoPressure(double SomeAvg10, double FullAvg10)
{
    private const string ProcFile = "/proc/pressure/io";

    /// <summary>Tasks waiting for I/O more than this share of the time: the disk is what limits replay.</summary>
    public const double Saturated = 10.0;

    public bool IsSaturated => SomeAvg10 >= Saturated;

    /// <summary>This host's I/O pressure; null where the kernel does not give it (no PSI, another OS, a locked-down container).</summary>
    public static IoPressure? ReadThisHost()
    {
        try
        {
            return Parse(File.ReadAllText(ProcFile));
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            return null;
        }
    }

    /// <summary>Reads the "some" and "full" lines' avg10; null when either is missing or unreadable.</summary>
    public static IoPressure? Parse(string text)
    {
        double? some = null, full = null;
        foreach (var line in text.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            var fields = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
            var avg10 = fields.Skip(1).FirstOrDefault(f => f.StartsWith("avg10=", StringComparison.Ordinal));
            if (avg10 is null || !double.TryParse(avg10.AsSpan("avg10=".Length), NumberStyles.Float, CultureInfo.InvariantCulture, out var value))
            {
                continue;
            }

            if (fields[0] == "some")
            {
                some = value;
            }
            else if (fields[0] == "full")
            {
                full = value;
            }
        }

        return some is { } s && full is { } f ? new IoPressure(s, f) : null;
    }

    public override string ToString() =>
        string.Create(CultureInfo.InvariantCulture, $"I/O pressure on this host: some task waited for I/O {SomeAvg10:0.##} % of the last 10 s, every task {FullAvg10:0.##} %");
}

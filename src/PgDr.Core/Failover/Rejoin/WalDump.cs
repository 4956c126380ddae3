using System.Globalization;
using System.Text.RegularExpressions;
using PgDr.Hosting;
using PgDr.Topology;

namespace PgDr.Failover.Rejoin;

/// <summary>One WAL record as pg_waldump shows it.</summary>
public sealed record WalRecord(PgLsn Lsn, string ResourceManager, int TotalLength, string Description)
{
    public bool IsCommit => ResourceManager == "Transaction" && Description.StartsWith("COMMIT", StringComparison.Ordinal);
}

/// <summary>
/// Reads the WAL in a data directory with pg_waldump: which records a node wrote on its timeline from a position on.
/// Rejoin uses it to find what an old primary has beyond the new timeline's fork point, and how many of those records
/// are commits, before anything is changed.
/// </summary>
public static partial class WalDump
{
    /// <summary>
    /// The records on <paramref name="timeline"/> from <paramref name="from"/> (the first record at or after it) to
    /// the end of the WAL; null when pg_waldump cannot read there (the segment is gone).
    /// </summary>
    public static async Task<IReadOnlyList<WalRecord>?> ReadFromAsync(ControlledNode cluster, uint timeline, PgLsn from, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(cluster);
        var result = await ProcessRunner.RunAsync(
            cluster.Binaries.Tool("pg_waldump"),
            ["-p", Path.Combine(cluster.DataDirectory, "pg_wal"), "-t", timeline.ToString(CultureInfo.InvariantCulture), "-s", from.ToString()],
            cancellationToken,
            cluster.RunAs,
            new Dictionary<string, string> { ["LC_ALL"] = "C" }).ConfigureAwait(false);
        var records = new List<WalRecord>();
        foreach (var line in result.StandardOutput.Split('\n'))
        {
            if (Record().Match(line) is { Success: true } m)
            {
                records.Add(new WalRecord(PgLsn.Parse(m.Groups["lsn"].Value), m.Groups["rmgr"].Value, int.Parse(m.Groups["tot"].Value, CultureInfo.InvariantCulture), m.Groups["desc"].Value));
            }
        }

        // pg_waldump ends with an error at the end of the WAL (an invalid record after the last one) or, when there is
        // no record after the start at all, "could not find a valid record": both mean "nothing more". A missing file is not.
        if (records.Count == 0 && result.ExitCode != 0 && !result.StandardError.Contains("could not find a valid record", StringComparison.Ordinal))
        {
            return null;
        }

        return records;
    }

    [GeneratedRegex(@"^rmgr:\s*(?<rmgr>\S+)\s+len \(rec/tot\):\s*\d+/\s*(?<tot>\d+), tx:\s*\d+, lsn: (?<lsn>[0-9A-Fa-f]+/[0-9A-Fa-f]+), prev [0-9A-Fa-f]+/[0-9A-Fa-f]+, desc: (?<desc>.*)$")]
    private static partial Regex Record();
}

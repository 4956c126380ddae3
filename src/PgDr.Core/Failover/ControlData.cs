using PgDr.Errors;
using PgDr.Hosting;
using PgDr.Topology;

namespace PgDr.Failover;

/// <summary>What pg_controldata says about a data directory (read as its server's account): state, checkpoint, timeline.</summary>
public sealed class ControlData
{
    private readonly IReadOnlyDictionary<string, string> _fields;

    private ControlData(IReadOnlyDictionary<string, string> fields) => _fields = fields;

    /// <summary>"shut down", "shut down in recovery", "in production", "in archive recovery", ...</summary>
    public string State => Field("Database cluster state");

    /// <summary>The last checkpoint record's position; after a clean shutdown, the shutdown checkpoint's.</summary>
    public PgLsn LatestCheckpoint => PgLsn.Parse(Field("Latest checkpoint location"));

    public uint CheckpointTimeline => uint.Parse(Field("Latest checkpoint's TimeLineID"), System.Globalization.CultureInfo.InvariantCulture);

    public PgLsn MinRecoveryEnd => PgLsn.Parse(Field("Minimum recovery ending location"));

    public uint MinRecoveryEndTimeline => uint.Parse(Field("Min recovery ending loc's timeline"), System.Globalization.CultureInfo.InvariantCulture);

    public ulong SystemIdentifier => ulong.Parse(Field("Database system identifier"), System.Globalization.CultureInfo.InvariantCulture);

    /// <summary>Whether pg_rewind can work on this data directory: it needs hint bits in WAL or data checksums.</summary>
    public bool Rewindable => Field("wal_log_hints setting") == "on" || Field("Data page checksum version") != "0";

    public static async Task<ControlData> ReadAsync(ControlledNode cluster, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(cluster);
        var result = await ProcessRunner.RunCheckedAsync(cluster.Binaries.Tool("pg_controldata"), ["-D", cluster.DataDirectory], cancellationToken, cluster.RunAs, new Dictionary<string, string> { ["LC_ALL"] = "C" })
            .ConfigureAwait(false);
        var fields = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var line in result.StandardOutput.Split('\n'))
        {
            var colon = line.IndexOf(':', StringComparison.Ordinal);
            if (colon > 0)
            {
                fields[line[..colon].Trim()] = line[(colon + 1)..].Trim();
            }
        }

        return new ControlData(fields);
    }

    private string Field(string name) => _fields.TryGetValue(name, out var value)
        ? value
        : throw new PgDrException(ErrorIds.ExternalCommandFailed, PgDrErrorCategory.InvalidData, $"pg_controldata printed no '{name}'.", name);
}

namespace PgDr.Topology;

public enum PgNodeRole
{
    /// <summary>Accepts writes (not in recovery).</summary>
    Primary,

    /// <summary>In recovery, streaming or replaying WAL.</summary>
    Standby,
}

using PgDr.Connections;
using PgDr.Failover.Measurement;
using PgDr.Topology;

namespace PgDr.Failover.Rejoin;

/// <summary>How a node was brought back.</summary>
public enum RejoinMethod
{
    /// <summary>Its WAL ends at or before the new timeline's fork: it only had to be made a standby.</summary>
    Follow,

    /// <summary>pg_rewind from the new primary undid what it wrote past the fork.</summary>
    Rewind,

    /// <summary>Rewind was not possible (its WAL from the fork was gone, or pg_rewind failed): built again from the new primary (New-PgStandby).</summary>
    BaseBackup,
}

/// <summary>What rejoin did to a node.</summary>
public sealed class PgRejoinResult
{
    /// <summary>Where the node listens (loopback and its port), to pipe into Get-PgDrNode.</summary>
    public required PgInstance Instance { get; init; }

    public required string Node { get; init; }

    public required string DataDirectory { get; init; }

    public required string NewPrimary { get; init; }

    public RejoinMethod Method { get; init; }

    /// <summary>Where the node's timeline and the new primary's parted.</summary>
    public PgLsn? ForkPoint { get; init; }

    /// <summary>WAL records the node had past the fork (discarded by the rewind).</summary>
    public int DiscardedRecords { get; init; }

    /// <summary>Commits among them: transactions the new primary never had.</summary>
    public int DiscardedTransactions { get; init; }

    public bool Streaming { get; init; }

    public TimeSpan Duration { get; init; }

    public IReadOnlyList<PgDrStep> Steps { get; init; } = [];

    public override string ToString() => $"{Node}: {Method}, streaming from {NewPrimary}: {Streaming}";
}

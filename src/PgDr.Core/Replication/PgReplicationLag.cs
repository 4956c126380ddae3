using PgDr.Connections;
using PgDr.Topology;

namespace PgDr.Replication;

/// <summary>Whose point of view a lag object gives.</summary>
public enum LagSource
{
    /// <summary>Read on the sending node (pg_stat_replication / slots): how far a downstream standby is behind it.</summary>
    Sender,

    /// <summary>Read on the standby itself: what it has received but not yet replayed.</summary>
    Standby,
}

/// <summary>
/// How far one standby is behind. <see cref="ByteLag"/> is the primary signal; <see cref="TimeLag"/> is 0 when
/// the standby has replayed everything there is, so it neither goes NULL nor grows while the primary is idle.
/// </summary>
public sealed class PgReplicationLag
{
    /// <summary>The node that was asked (the sender for <see cref="LagSource.Sender"/>, the standby otherwise).</summary>
    public required PgInstance Instance { get; init; }

    public string NodeName => Instance.Name;

    public LagSource Source { get; init; }

    /// <summary>The standby: its application_name (the sandbox uses the region), or the slot name of a disconnected one.</summary>
    public required string StandbyName { get; init; }

    /// <summary>Address the standby connects from; null when not connected or read on the standby.</summary>
    public string? ClientAddress { get; init; }

    /// <summary>streaming, catchup, backup, startup, stopping, or disconnected (a slot with no standby attached).</summary>
    public required string State { get; init; }

    /// <summary>The sender's position everything is measured against (current LSN on a primary).</summary>
    public PgLsn? SenderLsn { get; init; }

    public PgLsn? SentLsn { get; init; }

    public PgLsn? WriteLsn { get; init; }

    public PgLsn? FlushLsn { get; init; }

    /// <summary>Received and flushed by the standby (standby view).</summary>
    public PgLsn? ReceiveLsn { get; init; }

    public PgLsn? ReplayLsn { get; init; }

    /// <summary>Bytes of WAL the standby has not replayed yet.</summary>
    public long ByteLag { get; init; }

    /// <summary>pg_stat_replication's raw intervals: NULL in PostgreSQL once an idle standby has caught up.</summary>
    public TimeSpan? WriteLag { get; init; }

    public TimeSpan? FlushLag { get; init; }

    public TimeSpan? ReplayLag { get; init; }

    /// <summary>
    /// How old the standby's data is: 0 when it has replayed all WAL there is; otherwise the replay lag
    /// measured by PostgreSQL. Null only for a disconnected standby, or before PostgreSQL has any measurement.
    /// </summary>
    public TimeSpan? TimeLag { get; init; }

    /// <summary>async, potential, sync or quorum.</summary>
    public string? SyncState { get; init; }

    public string? SlotName { get; init; }

    public DateTimeOffset? ReplyTime { get; init; }

    public DateTimeOffset? LastReplayedTransactionTime { get; init; }

    public bool Healthy => Reasons.Count == 0;

    public required IReadOnlyList<string> Reasons { get; init; }

    public DateTimeOffset ObservedAt { get; init; }

    public override string ToString() => $"{StandbyName}: {ByteLag} bytes behind ({State})";
}

/// <summary>Limits that make a lag object unhealthy when exceeded.</summary>
public sealed record LagThresholds(TimeSpan? MaxLag = null, long? MaxLagBytes = null);

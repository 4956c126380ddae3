using PgDr.Connections;

namespace PgDr.Topology;

/// <summary>
/// What one node said about itself at <see cref="ObservedAt"/>. Carries the <see cref="Instance"/> it was read
/// from, so it pipes into the next command.
/// </summary>
public sealed class PgNode
{
    public required PgInstance Instance { get; init; }

    /// <summary>host:port.</summary>
    public string Name => Instance.Name;

    /// <summary>The node's cluster_name setting; the sandbox names nodes by region (region-a, region-b, ...).</summary>
    public string? ClusterName { get; init; }

    public PgNodeRole Role { get; init; }

    public bool InRecovery => Role == PgNodeRole.Standby;

    /// <summary>pg_control's system identifier: the same on a primary and all its physical standbys.</summary>
    public ulong SystemIdentifier { get; init; }

    public uint Timeline { get; init; }

    public required string ServerVersion { get; init; }

    public int ServerVersionNumber { get; init; }

    /// <summary>The primary's current write position; null on a standby.</summary>
    public PgLsn? CurrentLsn { get; init; }

    /// <summary>The last WAL position received and flushed by a standby; null on a primary.</summary>
    public PgLsn? ReceiveLsn { get; init; }

    /// <summary>The last WAL position replayed by a standby; null on a primary.</summary>
    public PgLsn? ReplayLsn { get; init; }

    /// <summary>host:port a standby streams from (pg_stat_wal_receiver); null on a primary or when not streaming.</summary>
    public string? Upstream { get; init; }

    /// <summary>The slot a standby streams through on its upstream; null without one.</summary>
    public string? UpstreamSlot { get; init; }

    /// <summary>pg_stat_wal_receiver.status (streaming, catchup, ...); null when no receiver runs.</summary>
    public string? ReceiverStatus { get; init; }

    public DateTimeOffset ObservedAt { get; init; }

    public override string ToString() => $"{Name} ({Role})";
}

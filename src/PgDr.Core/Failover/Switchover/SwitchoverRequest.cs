using PgDr.Connections;
using PgDr.Failover.Lease;

namespace PgDr.Failover.Switchover;

/// <summary>What Invoke-PgSwitchover / pgdr switchover is asked to do.</summary>
public sealed class SwitchoverRequest
{
    /// <summary>The standby that becomes the primary.</summary>
    public required PgInstance Target { get; init; }

    /// <summary>The primary that becomes its standby; when null, the upstream the target's primary_conninfo names.</summary>
    public PgInstance? OldPrimary { get; init; }

    public LeaseStore? Lease { get; init; }

    /// <summary>The target may be at most this far (bytes replayed) behind when the switchover starts; default 16 MiB.</summary>
    public long MaxLagBytes { get; init; } = 16 * 1024 * 1024;

    /// <summary>How long the target may take to replay the old primary's shutdown checkpoint before the switchover is rolled back.</summary>
    public TimeSpan CatchUpTimeout { get; init; } = TimeSpan.FromSeconds(60);

    /// <summary>Other standbys to point at the new primary.</summary>
    public IReadOnlyList<PgInstance> Repoint { get; init; } = [];
}

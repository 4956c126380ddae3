using PgDr.Connections;
using PgDr.Failover.Lease;

namespace PgDr.Failover;

/// <summary>What Invoke-PgFailover / pgdr failover is asked to do.</summary>
public sealed class FailoverRequest
{
    /// <summary>The standby to promote.</summary>
    public required PgInstance Target { get; init; }

    /// <summary>
    /// The primary being replaced. When null: the lease holder's instance, else the upstream the target's
    /// primary_conninfo names (reached with the target's credentials).
    /// </summary>
    public PgInstance? OldPrimary { get; init; }

    /// <summary>The lease store (the configuration's lease repository); null only where no lease is kept (refused unless Force).</summary>
    public LeaseStore? Lease { get; init; }

    /// <summary>
    /// The most WAL (bytes) the promotion may leave behind. Default 0: the target must have received everything the
    /// old primary wrote. When the old primary cannot be reached the loss is unknown, which only <see cref="Force"/> accepts.
    /// </summary>
    public long MaxDataLossBytes { get; init; }

    /// <summary>Accept data loss (beyond the limit, or unknown) and promote without lease or confirmed fence. Never overrides a plan-only call.</summary>
    public bool Force { get; init; }

    /// <summary>Other standbys to point at the new primary (cascades whose upstream was the old primary included).</summary>
    public IReadOnlyList<PgInstance> Repoint { get; init; } = [];

    /// <summary>After the fence, how long the target may take to receive the old primary's last WAL before the loss is measured.</summary>
    public TimeSpan CatchUpTimeout { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>Why, recorded in the lease.</summary>
    public string? Reason { get; init; }
}

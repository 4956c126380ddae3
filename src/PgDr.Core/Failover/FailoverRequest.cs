using PgDr.Connections;
using PgDr.Failover.Lease;
using PgDr.Topology;

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

    /// <summary>
    /// A lease with a TTL that the caller has already watched stay unchanged for a whole TTL on its own monotonic clock
    /// (the agent, issue 13): it is taken at exactly that version, without waiting for another TTL. If the lease changed
    /// since, the failover fails with LeaseConflict and changes nothing.
    /// </summary>
    public PgDrLease? ExpiredLease { get; init; }

    /// <summary>
    /// When the old primary cannot be read: the last WAL position the caller saw it at (the agent's heartbeats). The
    /// loss is then judged against it (at least this far behind; what the old primary wrote after it stays unknown)
    /// instead of being refused as unknown. Null: an unreachable old primary leaves the loss unknown (Force needed).
    /// </summary>
    public PgLsn? LastKnownOldPrimaryLsn { get; init; }

    /// <summary>
    /// How long the checks wait for the old primary to answer before taking it as unreachable; null: the connection
    /// timeout. The agent has just seen it miss its heartbeats and bounds this by its heartbeat timeout.
    /// </summary>
    public TimeSpan? OldPrimaryTimeout { get; init; }

    /// <summary>host:port the new holder is written with in the lease (how the other nodes reach it); default the target's.</summary>
    public string? HolderInstance { get; init; }

    /// <summary>
    /// How often a lease with a TTL is renewed from the moment the failover takes it until it returns; null: a third of
    /// the TTL. The agent passes its policy's renewal interval.
    /// </summary>
    public TimeSpan? LeaseRenewInterval { get; init; }

    /// <summary>
    /// Told of the lease each time the failover writes it with a TTL (the take, then each renewal), with the
    /// <see cref="System.Diagnostics.Stopwatch"/> timestamp the write started at: the agent counts its fence deadline from there.
    /// </summary>
    public Action<PgDrLease, long>? LeaseRenewed { get; init; }
}

using PgDr.Connections;
using PgDr.Failover.Lease;

namespace PgDr.Failover.Rejoin;

/// <summary>What Join-PgCluster / pgdr rejoin is asked to do: turn a failed old primary (or a stray node) into a standby.</summary>
public sealed class RejoinRequest
{
    /// <summary>The node's data directory on this host.</summary>
    public required string DataDirectory { get; init; }

    /// <summary>The primary to follow; when null, the lease holder (reached with <see cref="Credentials"/>' user and password).</summary>
    public PgInstance? NewPrimary { get; init; }

    /// <summary>User, password and TLS settings for the nodes, when <see cref="NewPrimary"/> is not given.</summary>
    public PgInstance? Credentials { get; init; }

    public LeaseStore? Lease { get; init; }

    /// <summary>Rewind even when the node holds committed transactions the new primary lacks (they are discarded).</summary>
    public bool AllowDataLoss { get; init; }
}

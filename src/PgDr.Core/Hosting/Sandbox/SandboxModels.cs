using PgDr.Connections;
using PgDr.Replication;
using PgDr.Topology;

namespace PgDr.Hosting.Sandbox;

/// <summary>What topology to build.</summary>
public sealed class SandboxSpec
{
    /// <summary>Directory that will hold every node's data directory and the sandbox state; must be new or empty.</summary>
    public required string Directory { get; init; }

    /// <summary>Standbys streaming from the primary, one per further region (region-b, region-c, ...).</summary>
    public int Standbys { get; init; } = 1;

    /// <summary>Adds one standby (region-b2) that streams from region-b instead of the primary.</summary>
    public bool Cascading { get; init; }

    /// <summary>PostgreSQL's bin directory; found automatically when null.</summary>
    public string? BinDirectory { get; init; }

    /// <summary>OS account the servers run as when the caller is root (default postgres).</summary>
    public string? ServiceAccount { get; init; }

    /// <summary>
    /// TLS everywhere: the sandbox's own CA signs a certificate every node serves, pg_hba.conf admits only TLS
    /// (hostssl), and every connection the sandbox makes or hands out, replication included, is verify-full against
    /// that CA.
    /// </summary>
    public bool Tls { get; init; }
}

/// <summary>One node of a sandbox as it was built.</summary>
public sealed class PgSandboxNode
{
    /// <summary>region-a (the first primary), region-b, ...; also the node's cluster_name and application_name.</summary>
    public required string Name { get; init; }

    public required int Port { get; init; }

    public required string DataDirectory { get; init; }

    /// <summary>Name of the node it streams from; null for the primary it was built with.</summary>
    public string? UpstreamName { get; init; }

    /// <summary>The slot on the upstream this node streams through.</summary>
    public string? SlotName { get; init; }

    /// <summary>How to reach the node, with the sandbox's superuser credentials.</summary>
    public required PgInstance Instance { get; init; }

    public override string ToString() => $"{Name} ({Instance})";
}

/// <summary>One node's live state, as `pgdr sandbox status` shows it.</summary>
public sealed class PgSandboxNodeStatus
{
    public required string Name { get; init; }

    public required PgInstance Instance { get; init; }

    public int Port => Instance.Port;

    public bool Running { get; init; }

    public PgNodeRole? Role { get; init; }

    public uint? Timeline { get; init; }

    public PgLsn? CurrentLsn { get; init; }

    public PgLsn? ReceiveLsn { get; init; }

    public PgLsn? ReplayLsn { get; init; }

    /// <summary>The sandbox node this one streams from, as the upstream reports it.</summary>
    public string? Upstream { get; init; }

    /// <summary>The upstream's view of this standby (state, byte and time lag); null for a primary or when unknown.</summary>
    public PgReplicationLag? Lag { get; init; }

    public long? ByteLag => Lag?.ByteLag;

    public TimeSpan? TimeLag => Lag?.TimeLag;

    /// <summary>Why the node could not be read, when it could not.</summary>
    public string? Error { get; init; }
}

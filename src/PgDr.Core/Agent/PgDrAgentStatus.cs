using System.Text.Json.Serialization;
using PgDr.Topology;

namespace PgDr.Agent;

/// <summary>What the agent's node is, in the agent's eyes.</summary>
[JsonConverter(typeof(JsonStringEnumConverter<AgentRole>))]
public enum AgentRole
{
    /// <summary>Not yet probed.</summary>
    Unknown,

    /// <summary>PostgreSQL does not answer.</summary>
    Down,

    /// <summary>A primary that holds the lease (renewed within the TTL less the margin) and accepts writes.</summary>
    Primary,

    /// <summary>A primary that does not hold the lease: it is being (or has been) fenced.</summary>
    PrimaryWithoutLease,

    Standby,
}

/// <summary>Another node as this agent last saw it (a standby's heartbeat of the primary, a primary's view of its standbys).</summary>
public sealed class PgDrAgentPeer
{
    [JsonPropertyName("name")]
    public string Name { get; set; } = string.Empty;

    [JsonPropertyName("role")]
    public string Role { get; set; } = string.Empty;

    /// <summary>Seconds since it last answered (a heartbeat, or a standby's status reply to the primary).</summary>
    [JsonPropertyName("lastHeartbeatSecondsAgo")]
    public double? LastHeartbeatSecondsAgo { get; set; }

    [JsonPropertyName("state")]
    public string? State { get; set; }
}

/// <summary>A disk the node writes to, measured by its agent on the node's host (pgdr check judges it for a node elsewhere).</summary>
public sealed class PgDrAgentDisk
{
    /// <summary>"data directory" or "pg_wal": the Subject of pgdr check's DiskSpace verdicts.</summary>
    [JsonPropertyName("label")]
    public string Label { get; set; } = string.Empty;

    /// <summary>The path measured (pg_wal through its link).</summary>
    [JsonPropertyName("path")]
    public string Path { get; set; } = string.Empty;

    /// <summary>The mount point of the file system that holds it.</summary>
    [JsonPropertyName("mount")]
    public string Mount { get; set; } = string.Empty;

    [JsonPropertyName("freeBytes")]
    public long FreeBytes { get; set; }

    [JsonPropertyName("totalBytes")]
    public long TotalBytes { get; set; }
}

/// <summary>
/// One agent's view of its node and the cluster, refreshed every heartbeat: what GET /status returns, what the other
/// endpoints and /metrics are computed from.
/// </summary>
public sealed class PgDrAgentStatus
{
    [JsonPropertyName("node")]
    public string? Node { get; set; }

    [JsonPropertyName("region")]
    public string? Region { get; set; }

    [JsonPropertyName("role")]
    public AgentRole Role { get; set; }

    /// <summary>PostgreSQL answered the last probe.</summary>
    [JsonPropertyName("postgresAnswers")]
    public bool PostgresAnswers { get; set; }

    /// <summary>A primary not in recovery with default_transaction_read_only off.</summary>
    [JsonPropertyName("writable")]
    public bool Writable { get; set; }

    [JsonPropertyName("timeline")]
    public uint? Timeline { get; set; }

    [JsonPropertyName("currentLsn")]
    public string? CurrentLsn { get; set; }

    [JsonPropertyName("receiveLsn")]
    public string? ReceiveLsn { get; set; }

    [JsonPropertyName("replayLsn")]
    public string? ReplayLsn { get; set; }

    [JsonPropertyName("receiverStatus")]
    public string? ReceiverStatus { get; set; }

    [JsonPropertyName("upstream")]
    public string? Upstream { get; set; }

    /// <summary>A standby's replay position behind the primary's last position seen; null when either is unknown.</summary>
    [JsonPropertyName("lagBytes")]
    public long? LagBytes { get; set; }

    /// <summary>0 when it replayed all it received; otherwise the age of the last replayed commit.</summary>
    [JsonPropertyName("lagSeconds")]
    public double? LagSeconds { get; set; }

    [JsonPropertyName("leaseHolder")]
    public string? LeaseHolder { get; set; }

    [JsonPropertyName("leaseHolderInstance")]
    public string? LeaseHolderInstance { get; set; }

    [JsonPropertyName("leaseGeneration")]
    public long? LeaseGeneration { get; set; }

    [JsonPropertyName("leaseTtlSeconds")]
    public int? LeaseTtlSeconds { get; set; }

    /// <summary>This node holds the lease and renewed it within the TTL less the margin.</summary>
    [JsonPropertyName("holdsLease")]
    public bool HoldsLease { get; set; }

    /// <summary>On the holder: seconds left before it fences itself unless it renews.</summary>
    [JsonPropertyName("fenceInSeconds")]
    public double? FenceInSeconds { get; set; }

    /// <summary>On an observer: seconds the lease has stayed unchanged on this node's clock.</summary>
    [JsonPropertyName("leaseUnchangedSeconds")]
    public double? LeaseUnchangedSeconds { get; set; }

    /// <summary>Why the lease could not be read or renewed, when it could not.</summary>
    [JsonPropertyName("leaseError")]
    public string? LeaseError { get; set; }

    [JsonPropertyName("missedHeartbeats")]
    public int MissedHeartbeats { get; set; }

    [JsonPropertyName("peers")]
    public List<PgDrAgentPeer> Peers { get; set; } = [];

    [JsonPropertyName("archiveReadySegments")]
    public long? ArchiveReadySegments { get; set; }

    [JsonPropertyName("archivedCount")]
    public long? ArchivedCount { get; set; }

    [JsonPropertyName("archiveFailedCount")]
    public long? ArchiveFailedCount { get; set; }

    /// <summary>The data directory's and pg_wal's file systems; empty until the agent has found the data directory.</summary>
    [JsonPropertyName("disks")]
    public List<PgDrAgentDisk> Disks { get; set; } = [];

    [JsonPropertyName("automaticFailover")]
    public bool AutomaticFailover { get; set; }

    /// <summary>The agent fenced its node in this run.</summary>
    [JsonPropertyName("fenced")]
    public bool Fenced { get; set; }

    [JsonPropertyName("leaseRenewals")]
    public long LeaseRenewals { get; set; }

    [JsonPropertyName("leaseRenewalFailures")]
    public long LeaseRenewalFailures { get; set; }

    [JsonPropertyName("failovers")]
    public long Failovers { get; set; }

    [JsonPropertyName("fences")]
    public long Fences { get; set; }

    /// <summary>When this view was taken (wall clock, for people; the agent's decisions use its monotonic clock).</summary>
    [JsonPropertyName("observedAt")]
    public DateTimeOffset ObservedAt { get; set; }

    /// <summary>The agent's monotonic time of this view, to judge its age (not serialized).</summary>
    [JsonIgnore]
    public TimeSpan ObservedAtClock { get; set; }

    internal static string? Lsn(PgLsn? lsn) => lsn?.ToString();
}

[JsonSourceGenerationOptions(WriteIndented = true)]
[JsonSerializable(typeof(PgDrAgentStatus))]
internal sealed partial class AgentStatusJsonContext : JsonSerializerContext;

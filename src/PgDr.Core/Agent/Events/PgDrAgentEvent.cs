using System.Text.Json.Serialization;

namespace PgDr.Agent.Events;

/// <summary>What an agent decided or saw change. Each kind is written once per change, not once per heartbeat.</summary>
[JsonConverter(typeof(JsonStringEnumConverter<AgentEventKind>))]
public enum AgentEventKind
{
    /// <summary>The agent started (with its policy) or stopped (and what it did with the lease).</summary>
    AgentStarted,
    AgentStopped,

    /// <summary>The primary's agent created, took back (after a manual failover or a stop) or kept the lease.</summary>
    LeaseAcquired,

    /// <summary>A renewal failed (the first of a run of failures) or the lease repository could not be read.</summary>
    LeaseRenewalFailed,
    RepositoryUnavailable,
    RepositoryReachable,

    /// <summary>The lease names another node (or a renewal found it changed): this node may not write.</summary>
    LeaseLost,

    /// <summary>The agent stopped its own PostgreSQL (or made it refuse writes) because it does not hold the lease.</summary>
    Fenced,

    /// <summary>A standby's heartbeats to the primary failed N times in a row / answered again.</summary>
    PrimaryUnreachable,
    PrimaryReachable,

    /// <summary>The lease stayed unchanged for a whole TTL on this node's clock.</summary>
    LeaseExpired,

    /// <summary>The primary is gone and the lease expired, but this node does not take over (and why).</summary>
    FailoverRefused,
    FailoverDeferred,

    FailoverStarted,
    FailoverSucceeded,
    FailoverFailed,

    /// <summary>A standby pointed itself at the new lease holder.</summary>
    Followed,

    /// <summary>Another node became the lease holder (seen by any agent).</summary>
    NewPrimary,

    /// <summary>Something a round could not do (read a node, repoint): its error id; the next round tries again.</summary>
    Problem,
}

/// <summary>One structured event of a node agent: the decision, its reason, and the facts it was made on.</summary>
public sealed class PgDrAgentEvent
{
    [JsonPropertyName("time")]
    public DateTimeOffset Time { get; set; }

    [JsonPropertyName("node")]
    public string Node { get; set; } = string.Empty;

    [JsonPropertyName("kind")]
    public AgentEventKind Kind { get; set; }

    /// <summary>Why, in one sentence.</summary>
    [JsonPropertyName("reason")]
    public string Reason { get; set; } = string.Empty;

    /// <summary>The lease as the agent knew it when it decided.</summary>
    [JsonPropertyName("leaseHolder")]
    public string? LeaseHolder { get; set; }

    [JsonPropertyName("leaseGeneration")]
    public long? LeaseGeneration { get; set; }

    /// <summary>The stable id of the error behind the event, when there is one.</summary>
    [JsonPropertyName("errorId")]
    public string? ErrorId { get; set; }

    /// <summary>Kind-specific facts (WAL positions, seconds since the last renewal, the RTO ...), as text.</summary>
    [JsonPropertyName("details")]
    public Dictionary<string, string>? Details { get; set; }

    public override string ToString() => $"{Time.UtcDateTime:yyyy-MM-ddTHH:mm:ss.fffZ} {Node} {Kind}: {Reason}";
}

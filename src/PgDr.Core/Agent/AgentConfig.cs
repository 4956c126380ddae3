using System.Text.Json;
using System.Text.Json.Serialization;

namespace PgDr.Agent;

// The "agent" section of the PgDr configuration file, as written (docs/agent.md documents every key). Setters, not
// init: the source-generated reader keeps the defaults of settable properties the JSON leaves out (see PgDrConfig).

/// <summary>The node agent's section: which node it keeps, how it is reached, its HTTP endpoint and its policy.</summary>
public sealed class AgentConfig
{
    /// <summary>This node's name: its cluster_name, which is what the lease names. Default: read from PostgreSQL.</summary>
    [JsonPropertyName("node")]
    public string? Node { get; set; }

    /// <summary>The region the node is in (the policy's regions and priorities name these). Default: the node's name.</summary>
    [JsonPropertyName("region")]
    public string? Region { get; set; }

    /// <summary>The local PostgreSQL as the agent reaches it: host:port, a URI or a connection string, without a password.</summary>
    [JsonPropertyName("instance")]
    public string Instance { get; set; } = "127.0.0.1:5432";

    /// <summary>host:port at which the other nodes (and clients) reach this node; written in the lease. Default: the instance's.</summary>
    [JsonPropertyName("advertise")]
    public string? Advertise { get; set; }

    /// <summary>What runs the local PostgreSQL, for fencing by a stop: auto, pg_ctl, systemd:&lt;unit&gt; or windows:&lt;service&gt;.</summary>
    [JsonPropertyName("service")]
    public string Service { get; set; } = "auto";

    /// <summary>The local data directory; found from the running server when omitted.</summary>
    [JsonPropertyName("dataDirectory")]
    public string? DataDirectory { get; set; }

    /// <summary>Address the HTTP endpoint listens on: 0.0.0.0 (every address, the default) or one address.</summary>
    [JsonPropertyName("httpAddress")]
    public string HttpAddress { get; set; } = "0.0.0.0";

    /// <summary>Port of the HTTP endpoint (the design's heartbeat monitor port).</summary>
    [JsonPropertyName("httpPort")]
    public int HttpPort { get; set; } = 8080;

    /// <summary>The node's event log (JSON lines). Default: /var/lib/pgdr/agent-events.jsonl (ProgramData\pgdr on Windows).</summary>
    [JsonPropertyName("eventsPath")]
    public string? EventsPath { get; set; }

    /// <summary>The other nodes, as this node reaches them: standbys compare how much WAL they received before one promotes.</summary>
    [JsonPropertyName("peers")]
    public List<AgentPeerConfig> Peers { get; set; } = [];

    [JsonPropertyName("policy")]
    public AgentPolicyConfig Policy { get; set; } = new();
}

/// <summary>Another node of the cluster.</summary>
public sealed class AgentPeerConfig
{
    [JsonPropertyName("name")]
    public string Name { get; set; } = string.Empty;

    /// <summary>host:port (or a URI / connection string without a password) as this node reaches it.</summary>
    [JsonPropertyName("instance")]
    public string Instance { get; set; } = string.Empty;

    /// <summary>Its region; default its name.</summary>
    [JsonPropertyName("region")]
    public string? Region { get; set; }

    /// <summary>Its agent's HTTP endpoint (host:port or http://host:port), where pgdr check reads the disks of that node.</summary>
    [JsonPropertyName("agent")]
    public string? Agent { get; set; }
}

/// <summary>The automated failover policy (docs/agent.md: defaults and what bounds the RTO).</summary>
public sealed class AgentPolicyConfig
{
    /// <summary>Whether this node's agent may promote it by itself. Off: it still keeps the lease, fences, follows and reports.</summary>
    [JsonPropertyName("automaticFailover")]
    public bool AutomaticFailover { get; set; } = true;

    /// <summary>How often a standby's agent checks the primary (SQL heartbeat) and the lease.</summary>
    [JsonPropertyName("heartbeatIntervalSeconds")]
    public double HeartbeatIntervalSeconds { get; set; } = 1;

    /// <summary>Consecutive heartbeats the primary must miss (with its lease expired) before a standby takes over.</summary>
    [JsonPropertyName("missedHeartbeats")]
    public int MissedHeartbeats { get; set; } = 3;

    /// <summary>The lease's TTL: a lease unchanged this long on an observer's own clock has expired.</summary>
    [JsonPropertyName("leaseTtlSeconds")]
    public int LeaseTtlSeconds { get; set; } = 6;

    /// <summary>How often the primary's agent renews the lease.</summary>
    [JsonPropertyName("renewIntervalSeconds")]
    public double RenewIntervalSeconds { get; set; } = 1;

    /// <summary>
    /// How long before the TTL ends, by its own clock, the primary fences itself when it could not renew: it covers the
    /// fence's own duration and clock-rate drift between hosts (docs/agent.md).
    /// </summary>
    [JsonPropertyName("fenceMarginSeconds")]
    public double FenceMarginSeconds { get; set; } = 2;

    /// <summary>Regions whose nodes may take over; empty: every region.</summary>
    [JsonPropertyName("regions")]
    public List<string> Regions { get; set; } = [];

    /// <summary>Priority per region: among standbys that received the same WAL, the higher one takes over.</summary>
    [JsonPropertyName("priority")]
    public Dictionary<string, int> Priority { get; set; } = [];

    /// <summary>The most WAL (bytes) a standby may lack of the primary's last position seen and still promote itself.</summary>
    [JsonPropertyName("maxDataLossBytes")]
    public long MaxDataLossBytes { get; set; } = 16 * 1024 * 1024;

    /// <summary>After a change of lease holder, how long this agent starts no automated failover (flapping protection).</summary>
    [JsonPropertyName("holdOffSeconds")]
    public double HoldOffSeconds { get; set; } = 60;
}

[JsonSourceGenerationOptions(ReadCommentHandling = JsonCommentHandling.Skip, AllowTrailingCommas = true)]
[JsonSerializable(typeof(AgentConfig))]
internal sealed partial class AgentConfigJsonContext : JsonSerializerContext;

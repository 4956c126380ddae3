using System.Globalization;
using System.Text;
using System.Text.Json;

namespace PgDr.Agent.Http;

/// <summary>One HTTP request as the endpoints see it.</summary>
public sealed record AgentHttpRequest(string Method, string Path, IReadOnlyDictionary<string, string> Query);

/// <summary>The answer: status code, content type and body.</summary>
public sealed record AgentHttpAnswer(int StatusCode, string ContentType, string Body);

/// <summary>
/// The heartbeat endpoint's answers, computed from the agent's latest view (never from a call made while the client
/// waits: a load balancer's probe must be cheap and must not hang on a hung server). What HAProxy and cloud load
/// balancers poll (docs/agent.md shows an HAProxy configuration).
/// </summary>
public static class AgentEndpoints
{
    private const string Text = "text/plain; charset=utf-8";
    private const string Json = "application/json";

    /// <summary>A view older than this many rounds is stale: the agent itself is stuck, so nothing is vouched for.</summary>
    private const int StaleAfterRounds = 3;

    public static AgentHttpAnswer Answer(AgentHttpRequest request, PgDrAgentStatus status, TimeSpan now, AgentPolicy policy)
    {
        ArgumentNullException.ThrowIfNull(request);
        ArgumentNullException.ThrowIfNull(status);
        ArgumentNullException.ThrowIfNull(policy);
        if (request.Method is not ("GET" or "HEAD"))
        {
            return new AgentHttpAnswer(405, Text, "only GET\n");
        }

        var round = policy.HeartbeatInterval > policy.RenewInterval ? policy.HeartbeatInterval : policy.RenewInterval;
        var age = now - status.ObservedAtClock;
        var stale = status.ObservedAt == default || age > (round * StaleAfterRounds) + policy.ProbeTimeout + policy.LeaseCallTimeout;
        var staleWhy = status.ObservedAt == default ? "the agent has not looked yet" : $"the agent's view is {age.TotalSeconds:0.#} s old";
        switch (request.Path.TrimEnd('/'))
        {
            case "/health":
                return stale ? Unavailable(staleWhy)
                    : status.PostgresAnswers ? Ok($"PostgreSQL answers ({Role(status)})")
                    : Unavailable("PostgreSQL does not answer");
            case "/primary":
                return stale ? Unavailable(staleWhy)
                    : status.Role == AgentRole.Primary ? Ok($"writable primary holding the lease (generation {status.LeaseGeneration})")
                    : Unavailable($"not the primary: {Role(status)}");
            case "/replica":
                return stale ? Unavailable(staleWhy) : Replica(request, status);
            case "/status":
                return new AgentHttpAnswer(200, Json, JsonSerializer.Serialize(status, AgentStatusJsonContext.Default.PgDrAgentStatus) + "\n");
            case "/metrics":
                return new AgentHttpAnswer(200, "text/plain; version=0.0.4; charset=utf-8", PrometheusText.Write(status, stale));
            case "":
                return Ok("pgdr agent: /health /primary /replica?max-lag-bytes=N&max-lag=S /status /metrics");
            default:
                return new AgentHttpAnswer(404, Text, "no such endpoint\n");
        }
    }

    private static AgentHttpAnswer Replica(AgentHttpRequest request, PgDrAgentStatus status)
    {
        long? maxBytes = null;
        double? maxSeconds = null;
        if (request.Query.TryGetValue("max-lag-bytes", out var bytesText))
        {
            if (!long.TryParse(bytesText, NumberStyles.None, CultureInfo.InvariantCulture, out var b))
            {
                return new AgentHttpAnswer(400, Text, $"max-lag-bytes must be a whole number of bytes (got '{bytesText}')\n");
            }

            maxBytes = b;
        }

        if (request.Query.TryGetValue("max-lag", out var secondsText))
        {
            if (!double.TryParse(secondsText, NumberStyles.AllowDecimalPoint, CultureInfo.InvariantCulture, out var s) || !double.IsFinite(s))
            {
                return new AgentHttpAnswer(400, Text, $"max-lag must be a number of seconds (got '{secondsText}')\n");
            }

            maxSeconds = s;
        }

        if (status.Role != AgentRole.Standby)
        {
            return Unavailable($"not a standby: {Role(status)}");
        }

        if (status.ReceiverStatus != "streaming")
        {
            return Unavailable($"not streaming (receiver {status.ReceiverStatus ?? "not running"})");
        }

        if (maxBytes is { } limit && (status.LagBytes is not { } lag || lag > limit))
        {
            return Unavailable(status.LagBytes is { } l ? $"{l} bytes behind (limit {limit})" : "its lag in bytes is unknown (the primary did not answer its last heartbeat)");
        }

        if (maxSeconds is { } secondsLimit && (status.LagSeconds is not { } lagSeconds || lagSeconds > secondsLimit))
        {
            return Unavailable(status.LagSeconds is { } l ? $"{l.ToString("0.###", CultureInfo.InvariantCulture)} s behind (limit {secondsLimit.ToString(CultureInfo.InvariantCulture)} s)" : "its time lag is unknown");
        }

        return Ok($"streaming standby, {status.LagBytes?.ToString(CultureInfo.InvariantCulture) ?? "?"} bytes and {status.LagSeconds?.ToString("0.###", CultureInfo.InvariantCulture) ?? "?"} s behind");
    }

    private static string Role(PgDrAgentStatus status) => status.Role switch
    {
        AgentRole.Primary => "primary holding the lease",
        AgentRole.PrimaryWithoutLease => "primary without the lease (being fenced)",
        AgentRole.Standby => "standby",
        AgentRole.Down => "PostgreSQL down",
        _ => "not yet known",
    };

    private static AgentHttpAnswer Ok(string why) => new(200, Text, why + "\n");

    private static AgentHttpAnswer Unavailable(string why) => new(503, Text, why + "\n");
}

/// <summary>
/// The Prometheus text exposition format (version 0.0.4) for the agent's gauges and counters: a dozen lines written
/// here rather than prometheus-net, whose registry, background collectors and dependencies would ride along in the
/// pgdr binary that PostgreSQL starts once per WAL segment (docs/agent.md has the measurement).
/// </summary>
public static class PrometheusText
{
    public static string Write(PgDrAgentStatus status, bool stale)
    {
        ArgumentNullException.ThrowIfNull(status);
        var text = new StringBuilder();
        var node = $"node=\"{Escape(status.Node ?? string.Empty)}\"";
        Metric(text, "pgdr_agent_up", "gauge", "1 while the agent runs and its view is fresh, 0 when its view is stale.", node, stale ? 0 : 1);
        Metric(text, "pgdr_postgres_up", "gauge", "1 when the local PostgreSQL answered the agent's last probe.", node, status.PostgresAnswers ? 1 : 0);
        text.Append("# HELP pgdr_agent_state The node's role as the agent sees it (one series per state, 1 for the current one).\n# TYPE pgdr_agent_state gauge\n");
        foreach (var role in Enum.GetValues<AgentRole>())
        {
            text.Append(CultureInfo.InvariantCulture, $"pgdr_agent_state{{{node},state=\"{role}\"}} {(status.Role == role ? 1 : 0)}\n");
        }

        Metric(text, "pgdr_lease_held", "gauge", "1 when this node holds the single-writer lease (renewed within the TTL less the margin).", node, status.HoldsLease ? 1 : 0);
        Metric(text, "pgdr_lease_generation", "gauge", "The lease's generation (fencing term) as last read.", node, status.LeaseGeneration);
        Metric(text, "pgdr_timeline", "gauge", "The node's timeline.", node, status.Timeline);
        Metric(text, "pgdr_replication_lag_bytes", "gauge", "A standby's replay position behind the primary's last position seen.", node, status.LagBytes);
        Metric(text, "pgdr_replication_lag_seconds", "gauge", "A standby's time lag (0 when it replayed all it received).", node, status.LagSeconds);
        Metric(text, "pgdr_primary_missed_heartbeats", "gauge", "Consecutive heartbeats the primary missed (seen from a standby).", node, status.MissedHeartbeats);
        Metric(text, "pgdr_archive_ready_segments", "gauge", "WAL segments waiting for archive_command (archive backlog).", node, status.ArchiveReadySegments);
        Metric(text, "pgdr_archived_total", "counter", "Segments archived (pg_stat_archiver.archived_count).", node, status.ArchivedCount);
        Metric(text, "pgdr_archive_failed_total", "counter", "Failed archive_command calls (pg_stat_archiver.failed_count).", node, status.ArchiveFailedCount);
        Metric(text, "pgdr_lease_renewals_total", "counter", "Lease renewals by this agent.", node, status.LeaseRenewals);
        Metric(text, "pgdr_lease_renewal_failures_total", "counter", "Failed lease renewals by this agent.", node, status.LeaseRenewalFailures);
        Metric(text, "pgdr_failovers_total", "counter", "Automated failovers this agent carried out.", node, status.Failovers);
        Metric(text, "pgdr_fences_total", "counter", "Times this agent fenced its own node.", node, status.Fences);
        DiskMetric(text, "pgdr_disk_free_bytes", "Free bytes of the file system holding the data directory or pg_wal.", node, status.Disks, d => d.FreeBytes);
        DiskMetric(text, "pgdr_disk_size_bytes", "Size in bytes of the file system holding the data directory or pg_wal.", node, status.Disks, d => d.TotalBytes);
        return text.ToString();
    }

    private static void Metric(StringBuilder text, string name, string type, string help, string labels, double? value)
    {
        text.Append(CultureInfo.InvariantCulture, $"# HELP {name} {help}\n# TYPE {name} {type}\n");
        if (value is { } v)
        {
            // A series without a value is left out (Prometheus has no null), never written as 0.
            text.Append(CultureInfo.InvariantCulture, $"{name}{{{labels}}} {v.ToString("R", CultureInfo.InvariantCulture)}\n");
        }
    }

    private static void DiskMetric(StringBuilder text, string name, string help, string node, IReadOnlyList<PgDrAgentDisk> disks, Func<PgDrAgentDisk, long> value)
    {
        text.Append(CultureInfo.InvariantCulture, $"# HELP {name} {help}\n# TYPE {name} gauge\n");
        foreach (var disk in disks)
        {
            text.Append(CultureInfo.InvariantCulture, $"{name}{{{node},disk=\"{Escape(disk.Label)}\"}} {value(disk)}\n");
        }
    }

    private static string Escape(string value) =>
        value.Replace("\\", "\\\\", StringComparison.Ordinal).Replace("\"", "\\\"", StringComparison.Ordinal).Replace("\n", "\\n", StringComparison.Ordinal);
}

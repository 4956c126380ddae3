using PgDr.Agent.Events;
using PgDr.Archive.Configuration;
using PgDr.Failover.Lease;

namespace PgDr.Agent;

/// <summary>Runs the node agent a configuration file describes (pgdr agent, Start-PgDrAgent): one code path for both.</summary>
public static class AgentHost
{
    /// <summary>The checked settings of <paramref name="configPath"/> (else PGDR_CONFIG, else the system file): what -WhatIf shows.</summary>
    public static AgentSettings Load(string? configPath) => AgentSettings.FromConfig(PgDrConfig.Load(configPath));

    /// <summary>
    /// Runs the agent until <paramref name="cancellationToken"/> is cancelled; every event goes to the node's event log
    /// and to <paramref name="onEvent"/>. Bad configuration (InvalidConfig) and a taken port (AgentPortInUse) fail at
    /// once; an unreachable repository does not: it is reported (RepositoryUnavailable) and retried, and a primary that
    /// cannot renew is fenced, because an agent that exited would leave it unfenced.
    /// </summary>
    public static async Task RunAsync(string? configPath, Action<PgDrAgentEvent>? onEvent, CancellationToken cancellationToken)
    {
        var config = PgDrConfig.Load(configPath);
        var settings = AgentSettings.FromConfig(config);
        var lease = LeaseStore.Open(config);
        await using (lease.ConfigureAwait(false))
        {
            var log = settings.EventsPath is { } path ? new AgentEventLog(path) : null;
            await new NodeAgent(settings, lease, log, onEvent).RunAsync(cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>The events in the log of <paramref name="path"/>, else of the configuration's agent.eventsPath.</summary>
    public static IReadOnlyList<PgDrAgentEvent> ReadEvents(string? configPath, string? path, DateTimeOffset? since, int? last) =>
        AgentEventLog.Read(path ?? Load(configPath).EventsPath ?? AgentSettings.DefaultEventsPath, since, last);

    /// <summary>What starting the agent means, for -WhatIf and the start event.</summary>
    public static string Describe(AgentSettings settings)
    {
        ArgumentNullException.ThrowIfNull(settings);
        var p = settings.Policy;
        return $"run the node agent for {settings.Instance} (advertised as {settings.AdvertisedInstance}, region {settings.Region ?? settings.Node ?? "its name"}): "
            + $"HTTP on {settings.HttpAddress}:{settings.HttpPort}, events to {settings.EventsPath}; automatic failover {(p.AutomaticFailover ? "on" : "off")}, "
            + $"lease TTL {p.LeaseTtlSeconds} s renewed every {p.RenewInterval.TotalSeconds:0.##} s (fence after {p.FenceAfter.TotalSeconds:0.##} s without renewal), "
            + $"{p.MissedHeartbeats} missed heartbeats every {p.HeartbeatInterval.TotalSeconds:0.##} s, max data loss {p.MaxDataLossBytes} bytes";
    }
}

namespace PgDr.Agent.Services;

/// <summary>One program run with its arguments (as given to the OS, never through a shell).</summary>
public sealed record ServiceCommand(string Program, IReadOnlyList<string> Arguments)
{
    public override string ToString() => Program + " " + string.Join(' ', Arguments.Select(a => a.Contains(' ', StringComparison.Ordinal) ? $"\"{a}\"" : a));
}

/// <summary>
/// How the agent runs as a service: the systemd unit (packaging/systemd/pgdr-agent.service is this text) and the
/// Windows service's sc.exe command lines. One agent per node; it must keep running while PostgreSQL does, so both
/// restart it at once when it stops for any reason.
/// </summary>
public static class AgentServiceDefinitions
{
    public const string ServiceName = "pgdr-agent";
    public const string WindowsServiceName = "PgDrAgent";

    /// <summary>The systemd unit for a pgdr installed at <paramref name="pgdr"/> reading <paramref name="configPath"/>.</summary>
    public static string SystemdUnit(string pgdr = "/usr/bin/pgdr", string configPath = "/etc/pgdr/pgdr.json") => $"""
        # The PgDr node agent: heartbeat endpoint, lease keeping and self-fencing, automated failover (docs/agent.md).
        # One per PostgreSQL node, configured by the 'agent' section of {configPath}.
        [Unit]
        Description=PgDr node agent (heartbeat, lease, failover)
        Documentation=https://github.com/pgdr/pgdr/blob/main/docs/agent.md
        Wants=network-online.target
        After=network-online.target postgresql.service

        [Service]
        Type=exec
        # Root, like failover itself: the agent stops and starts PostgreSQL through its service (systemctl, pg_ctl as postgres).
        User=root
        Environment=PGDR_CONFIG={configPath}
        # The password of agent.instance's user comes from a pgpass file, never from the configuration or a command line.
        Environment=PGPASSFILE=/etc/pgdr/pgpass
        ExecStart={pgdr} agent --config {configPath}
        # SIGTERM: the agent parks the lease (or fences its primary when it cannot) and exits 0.
        KillSignal=SIGTERM
        TimeoutStopSec=30
        # Back at once: while it is gone, its primary renews no lease, and standbys take over when the TTL ends.
        Restart=always
        RestartSec=1
        StateDirectory=pgdr

        [Install]
        WantedBy=multi-user.target

        """;

    /// <summary>
    /// sc.exe command lines that define the Windows service (automatic start, restarted after 1 s on any failure).
    /// sc.exe wants "option= value" as two arguments, and binPath as one argument whose paths carry their own quotes.
    /// </summary>
    public static IReadOnlyList<ServiceCommand> WindowsServiceCommands(string pgdr, string configPath, string name = WindowsServiceName)
    {
        ArgumentException.ThrowIfNullOrEmpty(pgdr);
        ArgumentException.ThrowIfNullOrEmpty(configPath);
        ArgumentException.ThrowIfNullOrEmpty(name);
        if (pgdr.Contains('"', StringComparison.Ordinal) || configPath.Contains('"', StringComparison.Ordinal))
        {
            throw new ArgumentException("A path with a double quote cannot be put in a service's command line.", nameof(pgdr));
        }

        return
        [
            new("sc.exe", ["create", name, "binPath=", WindowsBinaryPath(pgdr, configPath), "start=", "auto", "DisplayName=", "PgDr node agent"]),
            new("sc.exe", ["description", name, "PgDr node agent: heartbeat endpoint, lease keeping and self-fencing, automated failover (docs/agent.md)."]),
            new("sc.exe", ["failure", name, "reset=", "60", "actions=", "restart/1000/restart/1000/restart/1000"]),
            new("sc.exe", ["failureflag", name, "1"]),
        ];
    }

    /// <summary>The service's command line: pgdr agent --windows-service --config "path".</summary>
    public static string WindowsBinaryPath(string pgdr, string configPath) => $"\"{pgdr}\" agent --windows-service --config \"{configPath}\"";
}

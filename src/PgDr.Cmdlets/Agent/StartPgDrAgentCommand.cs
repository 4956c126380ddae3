using System.Management.Automation;
using PgDr.Agent;
using PgDr.Agent.Events;
using PgDr.Cmdlets.Infrastructure;

namespace PgDr.Cmdlets.Agent;

/// <summary>
/// <para type="synopsis">Runs the PgDr node agent in the foreground until stopped, writing its events to the pipeline as they happen.</para>
/// <para type="description">The agent serves the heartbeat endpoint (/health, /primary, /replica, /status, /metrics; port 8080
/// by default), keeps the single-writer lease while its node is the primary and fences the node when it cannot renew it, and on a
/// standby promotes the node through the failover engine when the primary is gone and the policy allows. It reads the 'agent'
/// section of the PgDr configuration (docs/agent.md). It runs until Ctrl+C or until the pipeline stops: meant for a container's
/// entry point or a runbook; on a server run it as a service (the systemd unit pgdr-agent.service, or the Windows service
/// docs/agent.md defines). -WhatIf shows what it would run with and starts nothing.</para>
/// <example><code>Start-PgDrAgent -ConfigPath /etc/pgdr/pgdr.json | Where-Object Kind -in 'Fenced', 'FailoverSucceeded'</code></example>
/// <example><code>Start-PgDrAgent -ConfigPath ./pgdr.json -WhatIf</code></example>
/// </summary>
[Cmdlet(VerbsLifecycle.Start, "PgDrAgent", SupportsShouldProcess = true, ConfirmImpact = ConfirmImpact.Medium)]
[OutputType(typeof(PgDrAgentEvent))]
[PgDrCliCommand("agent")]
public sealed class StartPgDrAgentCommand : PgDrCmdlet
{
    /// <summary>The PgDr configuration with the 'agent' section (default: $env:PGDR_CONFIG, else the system file).</summary>
    [Parameter(Position = 0)]
    public string? ConfigPath { get; set; }

    protected override void EndProcessing()
    {
        var path = ConfigPath is null ? null : GetUnresolvedProviderPathFromPSPath(ConfigPath);
        var settings = RunOrTerminate((_, _) => Task.FromResult(AgentHost.Load(path)));
        if (!ShouldProcess(settings.Node ?? settings.Instance.Name, AgentHost.Describe(settings)))
        {
            return;
        }

        RunStreaming<PgDrAgentEvent>((emit, ct) => AgentHost.RunAsync(path, emit, ct));
    }
}

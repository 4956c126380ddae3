using System.Management.Automation;
using PgDr.Agent;
using PgDr.Agent.Events;
using PgDr.Cmdlets.Infrastructure;

namespace PgDr.Cmdlets.Agent;

/// <summary>
/// <para type="synopsis">Reads the node agent's events: every decision (lease kept or lost, fence, failover started, refused or done) with its reason.</para>
/// <para type="description">The agent appends one JSON object per event to its node's event log (agent.eventsPath in the
/// configuration, by default /var/lib/pgdr/agent-events.jsonl). This reads that log, oldest first; -Since and -Last narrow it.
/// Each event names the node, its kind, the reason, the lease holder and generation it decided on, and an error id where an
/// error was behind it.</para>
/// <example><code>Get-PgDrEvent -ConfigPath /etc/pgdr/pgdr.json -Since (Get-Date).AddHours(-1)</code></example>
/// <example><code>Get-PgDrEvent -Path /var/lib/pgdr/agent-events.jsonl -Last 20 | Where-Object Kind -like 'Failover*' | Format-List</code></example>
/// </summary>
[Cmdlet(VerbsCommon.Get, "PgDrEvent")]
[OutputType(typeof(PgDrAgentEvent))]
[PgDrCliCommand("events")]
public sealed class GetPgDrEventCommand : PgDrCmdlet
{
    /// <summary>The PgDr configuration whose agent.eventsPath names the log (default: $env:PGDR_CONFIG, else the system file).</summary>
    [Parameter(Position = 0)]
    public string? ConfigPath { get; set; }

    /// <summary>The event log to read, instead of the configuration's.</summary>
    [Parameter]
    public string? Path { get; set; }

    /// <summary>Only events at or after this time.</summary>
    [Parameter]
    public DateTimeOffset? Since { get; set; }

    /// <summary>Only the last N events.</summary>
    [Parameter]
    [ValidateRange(0, int.MaxValue)]
    public int? Last { get; set; }

    protected override void EndProcessing()
    {
        var config = ConfigPath is null ? null : GetUnresolvedProviderPathFromPSPath(ConfigPath);
        var path = Path is null ? null : GetUnresolvedProviderPathFromPSPath(Path);
        foreach (var agentEvent in RunOrTerminate((_, _) => Task.FromResult(AgentHost.ReadEvents(config, path, Since, Last))))
        {
            WriteObject(agentEvent);
        }
    }
}

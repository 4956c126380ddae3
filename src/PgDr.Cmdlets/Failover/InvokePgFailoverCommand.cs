using System.Management.Automation;
using PgDr.Cmdlets.Infrastructure;
using PgDr.Connections;
using PgDr.Failover;

namespace PgDr.Cmdlets.Failover;

/// <summary>
/// <para type="synopsis">Promotes a standby when the primary is lost, without ever making two primaries, and reports the measured RTO and RPO.</para>
/// <para type="description">Checks the target (same cluster, reachable, how far it received), fences the old primary where it
/// can be reached (read-only, then stopped where PgDr controls it), takes the single-writer lease in the WAL repository by
/// compare-and-swap, promotes, proves a write, and repoints the standbys given in -Repoint. Refuses a target further behind than
/// -MaxDataLoss (default 0), an unknown loss (old primary unreachable), and a promotion with neither fence nor lease, unless
/// -Force. -WhatIf lists every change and makes none; -Force never overrides it.</para>
/// <example><code>Invoke-PgFailover db-b:5432 -ConfigPath /etc/pgdr/pgdr.json -Repoint db-c:5432 -WhatIf</code></example>
/// <example><code>Invoke-PgFailover db-b:5432 -ConfigPath /etc/pgdr/pgdr.json -Force -Confirm:$false | Format-List Rto, Rpo, OldPrimaryFenced, FenceDetail</code></example>
/// </summary>
[Cmdlet(VerbsLifecycle.Invoke, "PgFailover", SupportsShouldProcess = true, ConfirmImpact = ConfirmImpact.High)]
[OutputType(typeof(PgFailoverResult))]
[PgDrCliCommand("failover")]
public sealed class InvokePgFailoverCommand : PgDrFailoverCmdlet
{
    /// <summary>The standby to promote (host:port, a URI, a connection string, or a node object).</summary>
    [Parameter(Mandatory = true, Position = 0, ValueFromPipeline = true, ValueFromPipelineByPropertyName = true)]
    [Alias("Instance")]
    public PgInstance? Target { get; set; }

    /// <summary>The primary being replaced; by default the lease holder, else the target's upstream.</summary>
    [Parameter]
    public PgInstance? OldPrimary { get; set; }

    /// <summary>The most WAL (bytes) the promotion may leave behind; default 0.</summary>
    [Parameter]
    [ValidateRange(0, long.MaxValue)]
    public long MaxDataLoss { get; set; }

    /// <summary>Other standbys to point at the new primary (cascades whose upstream was the old primary included).</summary>
    [Parameter]
    public PgInstance[] Repoint { get; set; } = [];

    /// <summary>After the fence, how long the target may take to receive the old primary's last WAL (default 10 s).</summary>
    [Parameter]
    public TimeSpan CatchUpTimeout { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>Accept data loss (beyond -MaxDataLoss, or unknown) and promote without fence or lease. Never overrides -WhatIf.</summary>
    [Parameter]
    public SwitchParameter Force { get; set; }

    protected override void ProcessRecord()
    {
        WithLease(lease =>
        {
            var request = new FailoverRequest
            {
                Target = WithCredential(Target!),
                OldPrimary = OldPrimary is null ? null : WithCredential(OldPrimary),
                Lease = lease,
                MaxDataLossBytes = MaxDataLoss,
                Force = Force,
                Repoint = Repoint.Select(WithCredential).ToList(),
                CatchUpTimeout = CatchUpTimeout,
            };
            var plan = RunOrTerminate((_, ct) => FailoverService.PlanAsync(request, ct));
            if (!ShouldProcess(plan.TargetName, "Fail over: " + string.Join("; ", plan.Changes)))
            {
                return;
            }

            WriteObject(RunOrTerminate((progress, ct) => FailoverService.RunAsync(request, progress, ct)));
        });
    }
}

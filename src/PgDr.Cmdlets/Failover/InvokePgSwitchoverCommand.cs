using System.Management.Automation;
using PgDr.Cmdlets.Infrastructure;
using PgDr.Connections;
using PgDr.Failover.Switchover;

namespace PgDr.Cmdlets.Failover;

/// <summary>
/// <para type="synopsis">Swaps the primary and a standby without losing a committed transaction; the old primary becomes a standby of the new one.</para>
/// <para type="description">Takes the lease, stops the primary with a fast shutdown (its WAL, shutdown checkpoint included, reaches
/// the connected standbys), waits until the target replayed that final position, promotes it, proves a write, and starts the old
/// primary as its standby through a slot of its own. Refuses a target lagging more than -MaxLag bytes; rolls back (old primary
/// started again, lease given back) if the target does not catch up. The old primary must run on this host under pg_ctl.</para>
/// <example><code>Invoke-PgSwitchover db-b:5432 -ConfigPath /etc/pgdr/pgdr.json -Confirm:$false | Format-List WriteUnavailable, Steps</code></example>
/// </summary>
[Cmdlet(VerbsLifecycle.Invoke, "PgSwitchover", SupportsShouldProcess = true, ConfirmImpact = ConfirmImpact.High)]
[OutputType(typeof(PgSwitchoverResult))]
[PgDrCliCommand("switchover")]
public sealed class InvokePgSwitchoverCommand : PgDrFailoverCmdlet
{
    /// <summary>The standby that becomes the primary.</summary>
    [Parameter(Mandatory = true, Position = 0, ValueFromPipeline = true, ValueFromPipelineByPropertyName = true)]
    [Alias("Instance")]
    public PgInstance? Target { get; set; }

    /// <summary>The primary that becomes its standby; by default the target's upstream.</summary>
    [Parameter]
    public PgInstance? OldPrimary { get; set; }

    /// <summary>Refuse when the target has replayed less than this close to the primary (bytes); default 16 MiB.</summary>
    [Parameter]
    [ValidateRange(0, long.MaxValue)]
    public long MaxLag { get; set; } = 16 * 1024 * 1024;

    /// <summary>Other standbys to point at the new primary.</summary>
    [Parameter]
    public PgInstance[] Repoint { get; set; } = [];

    protected override void ProcessRecord()
    {
        WithLease(lease =>
        {
            var request = new SwitchoverRequest
            {
                Target = WithCredential(Target!),
                OldPrimary = OldPrimary is null ? null : WithCredential(OldPrimary),
                Lease = lease,
                MaxLagBytes = MaxLag,
                Repoint = Repoint.Select(WithCredential).ToList(),
            };
            var changes = RunOrTerminate((_, ct) => SwitchoverService.PlanAsync(request, ct));
            if (!ShouldProcess(request.Target.ToString(), "Switch over: " + string.Join("; ", changes)))
            {
                return;
            }

            WriteObject(RunOrTerminate((progress, ct) => SwitchoverService.RunAsync(request, progress, ct)));
        });
    }
}

using System.Management.Automation;
using PgDr.Cmdlets.Infrastructure;
using PgDr.Connections;
using PgDr.Failover.Rejoin;

namespace PgDr.Cmdlets.Failover;

/// <summary>
/// <para type="synopsis">Brings a failed old primary back as a standby of the new primary: follow, pg_rewind, or a refusal.</para>
/// <para type="description">Finds where the node's timeline and the new primary's parted (their history files) and what the node
/// wrote past that point (pg_waldump). Nothing past it: the node is made a standby and started. Records past it: pg_rewind from
/// the new primary, keeping the node's own configuration files. Committed transactions past it, which a rewind would discard:
/// refused unless -Force. A node that holds the lease is refused (it is the primary). Runs on the node's host.</para>
/// <example><code>Join-PgCluster -DataDirectory /var/lib/postgresql/15/main -Primary db-b:5432 -ConfigPath /etc/pgdr/pgdr.json</code></example>
/// </summary>
[Cmdlet(VerbsCommon.Join, "PgCluster", SupportsShouldProcess = true, ConfirmImpact = ConfirmImpact.High)]
[OutputType(typeof(PgRejoinResult))]
[PgDrCliCommand("rejoin")]
public sealed class JoinPgClusterCommand : PgDrFailoverCmdlet
{
    /// <summary>The node's data directory on this host.</summary>
    [Parameter(Mandatory = true, Position = 0, ValueFromPipelineByPropertyName = true)]
    [ValidateNotNullOrEmpty]
    public string DataDirectory { get; set; } = string.Empty;

    /// <summary>The primary to follow; by default the lease holder named in -ConfigPath's lease.</summary>
    [Parameter]
    public PgInstance? Primary { get; set; }

    /// <summary>Rewind even when the node holds committed transactions the new primary lacks: they are discarded.</summary>
    [Parameter]
    public SwitchParameter Force { get; set; }

    protected override void ProcessRecord()
    {
        var directory = GetUnresolvedProviderPathFromPSPath(DataDirectory);
        var what = $"Make this node a standby of {(Primary?.ToString() ?? "the lease holder")} (pg_rewind if it wrote past the fork{(Force ? "; committed transactions only it has are discarded" : string.Empty)})";
        if (!ShouldProcess(directory, what))
        {
            return;
        }

        WithLease(lease =>
        {
            var request = new RejoinRequest
            {
                DataDirectory = directory,
                NewPrimary = Primary is null ? null : WithCredential(Primary),
                Credentials = WithCredential(new PgInstance("127.0.0.1")),
                Lease = lease,
                AllowDataLoss = Force,
            };
            WriteObject(RunOrTerminate((progress, ct) => RejoinService.RunAsync(request, progress, ct)));
        });
    }
}

using System.Management.Automation;
using PgDr.Cmdlets.Infrastructure;
using PgDr.Replication;

namespace PgDr.Cmdlets.Replication;

/// <summary>
/// <para type="synopsis">Measures replication lag: from a primary one object per standby, from a standby its own view.</para>
/// <para type="description">ByteLag is the primary signal. TimeLag is 0 when a standby has replayed all there is, so it
/// neither goes empty nor grows while the primary is idle. -MaxLag and -MaxLagBytes set Healthy and Reasons.</para>
/// <para type="description">On a node that standbys stream from (a primary, or a cascading standby), one object per
/// downstream standby with Source Sender, read from pg_stat_replication and the slots, so a standby whose slot exists
/// but which is not connected is reported as disconnected and unhealthy instead of missing. On a standby, also one
/// object with Source Standby: what it has received but not yet replayed.</para>
/// <example><code>Get-PgDrNode db-a | Get-PgReplicationLag -MaxLagBytes 16MB | Where-Object -not Healthy</code></example>
/// <example><code>Get-PgReplicationLag db-a:5432 -Credential $cred -MaxLag 00:00:30 | Format-List StandbyName, State, ByteLag, TimeLag, Reasons</code></example>
/// </summary>
[Cmdlet(VerbsCommon.Get, "PgReplicationLag")]
[OutputType(typeof(PgReplicationLag))]
[PgDrCliCommand("lag")]
public sealed class GetPgReplicationLagCommand : PgDrInstanceCmdlet
{
    /// <summary>Time lag above which a standby is not healthy.</summary>
    [Parameter]
    public TimeSpan? MaxLag { get; set; }

    /// <summary>Bytes of lag above which a standby is not healthy.</summary>
    [Parameter]
    [ValidateRange(0, long.MaxValue)]
    public long? MaxLagBytes { get; set; }

    protected override void ProcessRecord()
    {
        var thresholds = new LagThresholds(MaxLag, MaxLagBytes);
        foreach (var instance in Instance)
        {
            var target = Resolve(instance);
            if (TryRun((_, ct) => ReplicationLagService.GetLagAsync(target, thresholds, ct), out var lags))
            {
                WriteObject(lags, enumerateCollection: true);
            }
        }
    }
}

using System.Management.Automation;
using PgDr.Cmdlets.Infrastructure;
using PgDr.Replication;

namespace PgDr.Cmdlets.Replication;

/// <summary>
/// <para type="synopsis">Measures replication lag: from a primary one object per standby, from a standby its own view.</para>
/// <para type="description">ByteLag is the primary signal. TimeLag is 0 when a standby has replayed all there is, so it
/// neither goes empty nor grows while the primary is idle. -MaxLag and -MaxLagBytes set Healthy and Reasons.</para>
/// <example><code>Get-PgDrNode db-a | Get-PgReplicationLag -MaxLagBytes 16MB | Where-Object -not Healthy</code></example>
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

using System.Management.Automation;
using PgDr.Cmdlets.Completion;
using PgDr.Cmdlets.Infrastructure;
using PgDr.Replication;

namespace PgDr.Cmdlets.Replication;

/// <summary>
/// <para type="synopsis">Judges replication slots: active, wal_status, retained WAL; Healthy with the reasons when not.</para>
/// <para type="description">A slot is unhealthy when no standby uses it (it holds WAL back for ever), when wal_status is unreserved or lost,
/// or when it retains more than -MaxRetainedBytes. Reasons says which. -Quiet answers with one bool for scripts and
/// alerts.</para>
/// <example><code>if (-not (Test-PgReplicationSlot db-a -MaxRetainedBytes 10GB -Quiet)) { Send-Alert }</code></example>
/// </summary>
[Cmdlet(VerbsDiagnostic.Test, "PgReplicationSlot")]
[OutputType(typeof(PgReplicationSlotHealth), typeof(bool))]
[PgDrCliCommand("slot test")]
public sealed class TestPgReplicationSlotCommand : PgDrInstanceCmdlet
{
    /// <summary>Slot names; wildcards allowed.</summary>
    [Parameter(Position = 1)]
    [SupportsWildcards]
    [ArgumentCompleter(typeof(SlotNameCompleter))]
    public string[]? Name { get; set; }

    /// <summary>A slot that retains more WAL than this is not healthy.</summary>
    [Parameter]
    [ValidateRange(0, long.MaxValue)]
    public long? MaxRetainedBytes { get; set; }

    /// <summary>Return one bool: true when every slot on every node is healthy.</summary>
    [Parameter]
    public SwitchParameter Quiet { get; set; }

    private bool _allHealthy = true;

    protected override void ProcessRecord()
    {
        foreach (var instance in Instance)
        {
            var target = Resolve(instance);
            if (!TryRun((_, ct) => ReplicationSlotService.TestSlotsAsync(target, Name, MaxRetainedBytes, ct), out var results))
            {
                _allHealthy = false;
                continue;
            }

            _allHealthy &= results.All(r => r.Healthy);
            if (!Quiet)
            {
                WriteObject(results, enumerateCollection: true);
            }
        }
    }

    protected override void EndProcessing()
    {
        if (Quiet)
        {
            WriteObject(_allHealthy);
        }
    }
}

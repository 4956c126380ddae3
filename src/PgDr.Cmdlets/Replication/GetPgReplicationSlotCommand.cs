using System.Management.Automation;
using PgDr.Cmdlets.Completion;
using PgDr.Cmdlets.Infrastructure;
using PgDr.Replication;

namespace PgDr.Cmdlets.Replication;

/// <summary>
/// <para type="synopsis">Lists replication slots and the WAL each one retains.</para>
/// <para type="description">Reads pg_replication_slots: slot type, whether a standby uses it (Active), its restart LSN, wal_status and the WAL
/// it holds back on the node (RetainedBytes). A name without wildcards that matches nothing is an error
/// (ReplicationSlotNotFound); a wildcard that matches nothing returns nothing.</para>
/// <example><code>Get-PgReplicationSlot db-a -Name region_* | Sort-Object RetainedBytes -Descending</code></example>
/// </summary>
[Cmdlet(VerbsCommon.Get, "PgReplicationSlot")]
[OutputType(typeof(PgReplicationSlot))]
[PgDrCliCommand("slot list")]
public sealed class GetPgReplicationSlotCommand : PgDrInstanceCmdlet
{
    /// <summary>Slot names; wildcards allowed. A name without wildcards that matches nothing is an error.</summary>
    [Parameter(Position = 1)]
    [SupportsWildcards]
    [ArgumentCompleter(typeof(SlotNameCompleter))]
    public string[]? Name { get; set; }

    protected override void ProcessRecord()
    {
        foreach (var instance in Instance)
        {
            var target = Resolve(instance);
            if (TryRun((_, ct) => ReplicationSlotService.GetSlotsAsync(target, Name, ct), out var slots))
            {
                WriteObject(slots, enumerateCollection: true);
            }
        }
    }
}

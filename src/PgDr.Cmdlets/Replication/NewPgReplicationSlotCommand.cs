using System.Management.Automation;
using PgDr.Cmdlets.Infrastructure;
using PgDr.Replication;

namespace PgDr.Cmdlets.Replication;

/// <summary>
/// <para type="synopsis">Creates a physical replication slot on a primary; it reserves WAL at once.</para>
/// <para type="description">Creates the slot with WAL reserved immediately, so a standby cloned next (pg_basebackup -S) finds every segment it
/// needs. A standby is refused (NodeIsStandby) unless -AllowStandby, for a cascading standby's slot. An existing slot is
/// ReplicationSlotExists; -WhatIf names the slot and changes nothing.</para>
/// <example><code>New-PgReplicationSlot db-a -Name region_d -WhatIf</code></example>
/// </summary>
[Cmdlet(VerbsCommon.New, "PgReplicationSlot", SupportsShouldProcess = true, ConfirmImpact = ConfirmImpact.Medium)]
[OutputType(typeof(PgReplicationSlot))]
[PgDrCliCommand("slot create")]
public sealed class NewPgReplicationSlotCommand : PgDrInstanceCmdlet
{
    /// <summary>Slot name: lower-case letters, digits and underscores, at most 63.</summary>
    [Parameter(Mandatory = true, Position = 1)]
    [ValidateNotNullOrEmpty]
    public string Name { get; set; } = string.Empty;

    /// <summary>Create the slot although the node is a standby (for a cascading standby). Without it a standby is refused.</summary>
    [Parameter]
    public SwitchParameter AllowStandby { get; set; }

    protected override void ProcessRecord()
    {
        foreach (var instance in Instance)
        {
            var target = Resolve(instance);
            if (ShouldProcess($"{target}", $"Create physical replication slot '{Name}' (reserves WAL from now on)")
                && TryRun((_, ct) => ReplicationSlotService.CreatePhysicalSlotAsync(target, Name, AllowStandby, ct), out var slot))
            {
                WriteObject(slot);
            }
        }
    }
}

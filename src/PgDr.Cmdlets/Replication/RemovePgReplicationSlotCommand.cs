using System.Management.Automation;
using PgDr.Cmdlets.Completion;
using PgDr.Cmdlets.Infrastructure;
using PgDr.Connections;
using PgDr.Replication;

namespace PgDr.Cmdlets.Replication;

/// <summary>
/// <para type="synopsis">Drops replication slots that no standby uses, and says how much retained WAL that frees.</para>
/// <para type="description">Reads the slot first, so the confirmation (and -WhatIf) says whether a standby uses it and how much retained WAL
/// dropping it frees. A slot in use is refused (ReplicationSlotActive). ConfirmImpact is High; -PassThru writes what each
/// drop freed.</para>
/// <example><code>Get-PgReplicationSlot db-a | Test-PgReplicationSlot | Where-Object -not Active | ForEach-Object Slot | Remove-PgReplicationSlot -WhatIf</code></example>
/// </summary>
[Cmdlet(VerbsCommon.Remove, "PgReplicationSlot", SupportsShouldProcess = true, ConfirmImpact = ConfirmImpact.High, DefaultParameterSetName = ByNameSet)]
[OutputType(typeof(PgReplicationSlotRemoval), ParameterSetName = [ByNameSet, InputObjectSet])]
[PgDrCliCommand("slot drop")]
public sealed class RemovePgReplicationSlotCommand : PgDrCmdlet
{
    private const string ByNameSet = "ByName";
    private const string InputObjectSet = "InputObject";

    /// <summary>The node that holds the slot.</summary>
    [Parameter(Mandatory = true, Position = 0, ParameterSetName = ByNameSet, ValueFromPipelineByPropertyName = true)]
    [ArgumentCompleter(typeof(SandboxNodeCompleter))]
    public PgInstance? Instance { get; set; }

    /// <summary>The slot to drop.</summary>
    [Parameter(Mandatory = true, Position = 1, ParameterSetName = ByNameSet, ValueFromPipelineByPropertyName = true)]
    [Alias("SlotName")]
    [ValidateNotNullOrEmpty]
    [ArgumentCompleter(typeof(SlotNameCompleter))]
    public string Name { get; set; } = string.Empty;

    /// <summary>Slots from Get-PgReplicationSlot.</summary>
    [Parameter(Mandatory = true, ParameterSetName = InputObjectSet, ValueFromPipeline = true)]
    public PgReplicationSlot[] InputObject { get; set; } = [];

    /// <summary>User and password for the node; otherwise PGUSER/PGPASSWORD or the pgpass file apply.</summary>
    [Parameter(ParameterSetName = ByNameSet)]
    [Credential]
    public PSCredential? Credential { get; set; }

    /// <summary>Write what each drop freed.</summary>
    [Parameter]
    public SwitchParameter PassThru { get; set; }

    protected override void ProcessRecord()
    {
        if (ParameterSetName == InputObjectSet)
        {
            foreach (var slot in InputObject)
            {
                Drop(slot.Instance, slot.SlotName);
            }
        }
        else
        {
            var instance = Credential is null ? Instance! : Instance!.WithCredential(Credential.UserName, Credential.GetNetworkCredential().Password);
            Drop(instance, Name);
        }
    }

    private void Drop(PgInstance instance, string name)
    {
        // Read the slot first so -WhatIf and the confirmation say exactly what would be freed.
        if (!TryRun((_, ct) => ReplicationSlotService.GetSlotsAsync(instance, [ReplicationSlotName.Validate(name)], ct), out var slots))
        {
            return;
        }

        var slot = slots[0];
        var what = $"Drop replication slot '{slot.SlotName}' ({(slot.Active ? "ACTIVE, in use by a standby" : "inactive")}; frees {Bytes.Format(slot.RetainedBytes)} of retained WAL)";
        if (!ShouldProcess(instance.ToString(), what))
        {
            return;
        }

        if (TryRun((_, ct) => ReplicationSlotService.DropSlotAsync(instance, name, ct), out var removal))
        {
            WriteVerbose($"Dropped '{removal.SlotName}' on {removal.NodeName}: {Bytes.Format(removal.FreedBytes)} of WAL no longer retained.");
            if (PassThru)
            {
                WriteObject(removal);
            }
        }
    }
}

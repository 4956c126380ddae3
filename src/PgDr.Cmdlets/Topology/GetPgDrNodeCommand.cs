using System.Management.Automation;
using PgDr.Cmdlets.Infrastructure;
using PgDr.Topology;

namespace PgDr.Cmdlets.Topology;

/// <summary>
/// <para type="synopsis">Reads each node's role, system identifier, timeline, version and WAL positions.</para>
/// <para type="description">Connects to each instance and reads what a runbook decides on: Role (Primary or Standby, from pg_is_in_recovery),
/// SystemIdentifier (equal on every node of one cluster), Timeline, ServerVersion, and the current, receive and replay LSN.
/// The objects carry their Instance, so they pipe into Get-PgReplicationLag and the other cmdlets. A node that cannot be
/// reached is an error for that node (HostUnreachable, AuthenticationFailed...), and the others are still read.</para>
/// <example><code>Get-PgDrNode db-a:5432, db-b:5432 -Credential $cred | Format-Table</code></example>
/// </summary>
[Cmdlet(VerbsCommon.Get, "PgDrNode")]
[OutputType(typeof(PgNode))]
[PgDrCliCommand("node")]
public sealed class GetPgDrNodeCommand : PgDrInstanceCmdlet
{
    protected override void ProcessRecord()
    {
        foreach (var instance in Instance)
        {
            var target = Resolve(instance);
            if (TryRun((_, ct) => NodeInspector.GetNodeAsync(target, ct), out var node))
            {
                WriteObject(node);
            }
        }
    }
}

using System.Management.Automation;
using PgDr.Cmdlets.Infrastructure;
using PgDr.Topology;

namespace PgDr.Cmdlets.Topology;

/// <summary>
/// <para type="synopsis">Reads each node's role, system identifier, timeline, version and WAL positions.</para>
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

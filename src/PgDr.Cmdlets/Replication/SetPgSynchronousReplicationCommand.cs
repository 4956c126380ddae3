using System.Management.Automation;
using PgDr.Cmdlets.Completion;
using PgDr.Cmdlets.Infrastructure;
using PgDr.Replication.Synchronous;

namespace PgDr.Cmdlets.Replication;

/// <summary>
/// <para type="synopsis">Sets synchronous replication on a primary: synchronous_standby_names (FIRST n (...) / ANY n (...)) and synchronous_commit.</para>
/// <para type="description">Applied with ALTER SYSTEM and a reload, no restart. Reports each setting old -> new; -WhatIf shows exactly that and
/// changes nothing. Standbys are named by their application_name (the -Name given to New-PgStandby) and quoted as PostgreSQL needs.
/// A name that is not connected now is refused unless -Force: a typo would make every commit wait for a standby that never comes.
/// -Off sets synchronous_standby_names to '' and releases commits that wait. With -SynchronousCommit remote_apply a commit returns
/// only once the standby has applied it: a read there sees it (RPO 0, at the cost of a round trip per commit; see docs/performance.md).</para>
/// <example><code>Set-PgSynchronousReplication db-a -StandbyName region-b -SynchronousCommit remote_apply -WhatIf</code></example>
/// <example><code>Set-PgSynchronousReplication db-a -StandbyName region-b, region-c -Method Any -NumSync 1</code></example>
/// <example><code>Set-PgSynchronousReplication db-a -Off</code></example>
/// </summary>
[Cmdlet(VerbsCommon.Set, "PgSynchronousReplication", SupportsShouldProcess = true, ConfirmImpact = ConfirmImpact.Medium, DefaultParameterSetName = EnableSet)]
[OutputType(typeof(PgSynchronousReplicationChange), ParameterSetName = [EnableSet, OffSet])]
[PgDrCliCommand("sync set")]
public sealed class SetPgSynchronousReplicationCommand : PgDrInstanceCmdlet
{
    private const string EnableSet = "Enable";
    private const string OffSet = "Off";

    /// <summary>The standbys (application_name) whose confirmation commits wait for; * stands for any standby.</summary>
    [Parameter(Mandatory = true, Position = 1, ParameterSetName = EnableSet)]
    [ValidateNotNullOrEmpty]
    [ArgumentCompleter(typeof(StandbyNameCompleter))]
    public string[] StandbyName { get; set; } = [];

    /// <summary>First: the first NumSync connected standbys in the list's order (priority). Any: any NumSync of them (quorum).</summary>
    [Parameter(ParameterSetName = EnableSet)]
    public SynchronousMethod Method { get; set; } = SynchronousMethod.First;

    /// <summary>How many standbys must confirm each commit (default 1).</summary>
    [Parameter(ParameterSetName = EnableSet)]
    [ValidateRange(1, 1000)]
    public int NumSync { get; set; } = 1;

    /// <summary>synchronous_commit: off, local, remote_write, on (flushed on the standby) or remote_apply (visible there); unchanged when omitted.</summary>
    [Parameter]
    [ValidateSet("off", "local", "remote_write", "on", "remote_apply")]
    public string? SynchronousCommit { get; set; }

    /// <summary>Turn synchronous replication off (synchronous_standby_names = ''); commits that wait are released.</summary>
    [Parameter(Mandatory = true, ParameterSetName = OffSet)]
    public SwitchParameter Off { get; set; }

    /// <summary>Name standbys that are not connected now; commits then wait until enough of them are.</summary>
    [Parameter(ParameterSetName = EnableSet)]
    public SwitchParameter Force { get; set; }

    protected override void ProcessRecord()
    {
        var request = new SynchronousReplicationRequest
        {
            StandbyNames = StandbyName,
            Method = Method,
            NumSync = NumSync,
            SynchronousCommit = SynchronousCommit,
            Disable = Off,
            Force = Force,
        };
        foreach (var instance in Instance)
        {
            var target = Resolve(instance);
            if (!TryRun((_, ct) => SynchronousReplicationService.SetAsync(target, request, apply: false, ct), out var plan))
            {
                continue;
            }

            var changes = string.Join("; ", plan.Settings.Where(s => s.Changed).Select(s => s.ToString()));
            if (changes.Length == 0)
            {
                WriteVerbose($"{target}: synchronous replication is already set as asked.");
                WriteObject(plan);
                continue;
            }

            if (ShouldProcess(target.ToString(), $"Set synchronous replication: {changes}")
                && TryRun((_, ct) => SynchronousReplicationService.SetAsync(target, request, apply: true, ct), out var applied))
            {
                foreach (var missing in applied.MissingStandbys)
                {
                    WriteWarning($"{missing} is not connected to {target}: commits wait until enough named standbys are.");
                }

                WriteObject(applied);
            }
        }
    }
}

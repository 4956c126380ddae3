using System.Management.Automation;
using PgDr.Cmdlets.Infrastructure;
using PgDr.Connections;
using PgDr.Diagnostics;

namespace PgDr.Cmdlets.Diagnostics;

/// <summary>
/// <para type="synopsis">Checks a DR setup the way an expert would: settings, access, health and the server log of every node, one verdict per check with its evidence and fix.</para>
/// <para type="description">Over one node or a whole topology (instances, or the objects of Get-PgDrNode and Get-PgDrSandbox from the
/// pipeline), one object per check: CheckId (stable: match on it in scripts and Pester), Verdict (Pass, Warn or Fail), the
/// Evidence PgDr saw and the Fix in one sentence. Settings: wal_level, archive_mode, max_wal_senders, max_replication_slots,
/// hot_standby, wal_log_hints or data checksums, checkpoint_completion_target, max_slot_wal_keep_size, wal_keep_size,
/// primary_conninfo (keepalives, no password) and synchronous_standby_names against the standbys connected. Access: a
/// replication role, pg_hba.conf (trust, password and md5 flagged, replication restricted to addresses), TLS on and its
/// version for clients and for each stream. Health: the archiver and its backlog, slots, streams, replay lag, free disk of
/// the data directory and pg_wal (measured here for a node on this host, read from its agent for a node elsewhere:
/// -ConfigPath), clock skew between the nodes. Log: the known FATAL, PANIC and
/// ERROR lines of the last hour, each with its cause, fix, count and last time.</para>
/// <para type="description">The nodes are checked in one go after the pipeline ends, so their clocks can be compared. A node that
/// cannot be reached is a Fail of the Connection check, not an error. -Quiet answers with one bool: true when no check
/// failed (warnings allowed).</para>
/// <example><code>Get-PgDrSandbox | Test-PgDrConfiguration | Where-Object Verdict -ne Pass</code></example>
/// <example><code>Test-PgDrConfiguration db-a:5432, db-b:5432 -Credential $cred | Where-Object Verdict -eq Fail | Format-List Node, CheckId, Subject, Evidence, Fix</code></example>
/// <example><code>Test-PgDrConfiguration db-a:5432, db-b:5432 -ConfigPath /etc/pgdr/pgdr.json | Where-Object CheckId -eq DiskSpace</code></example>
/// <example><code>It 'has no failed DR check' { Test-PgDrConfiguration db-a, db-b | Where-Object Verdict -eq Fail | Should -BeNullOrEmpty }</code></example>
/// </summary>
[Cmdlet(VerbsDiagnostic.Test, "PgDrConfiguration")]
[OutputType(typeof(PgDrCheck), typeof(bool))]
[PgDrCliCommand("check")]
public sealed class TestPgDrConfigurationCommand : PgDrInstanceCmdlet
{
    /// <summary>More segments than this waiting for the archiver is a backlog (default 16).</summary>
    [Parameter]
    [ValidateRange(0, int.MaxValue)]
    public int MaxReadyFiles { get; set; } = 16;

    /// <summary>WAL a standby has received but not replayed beyond which replay counts as falling behind (default 64MB).</summary>
    [Parameter]
    [ValidateRange(0, long.MaxValue)]
    public long MaxReplayLagBytes { get; set; } = 64L * 1024 * 1024;

    /// <summary>Clocks further apart than this Warn, ten times this Fail (default 1 second).</summary>
    [Parameter]
    public TimeSpan MaxClockSkew { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>How far back the server log's failure lines count (default 1 hour).</summary>
    [Parameter]
    public TimeSpan LogWindow { get; set; } = TimeSpan.FromHours(1);

    /// <summary>
    /// A PgDr configuration whose agent section names the nodes' agents (agent.peers[].agent): the free disk of a node on
    /// another host is read from its agent.
    /// </summary>
    [Parameter]
    public string? ConfigPath { get; set; }

    /// <summary>Do not scan the server logs.</summary>
    [Parameter]
    public SwitchParameter SkipLog { get; set; }

    /// <summary>Return one bool: true when no check failed on any node (warnings allowed).</summary>
    [Parameter]
    public SwitchParameter Quiet { get; set; }

    private readonly List<PgInstance> _instances = [];

    protected override void ProcessRecord()
    {
        _instances.AddRange(Instance.Select(Resolve));
    }

    protected override void EndProcessing()
    {
        var options = new ConfigurationCheckOptions
        {
            MaxReadyFiles = MaxReadyFiles,
            MaxReplayLagBytes = MaxReplayLagBytes,
            MaxClockSkew = MaxClockSkew,
            LogWindow = LogWindow,
            ScanLog = !SkipLog,
            ConfigPath = ConfigPath is null ? null : GetUnresolvedProviderPathFromPSPath(ConfigPath),
        };
        var distinct = _instances.Distinct().ToList();
        if (!TryRun((progress, ct) => ConfigurationCheckService.CheckAsync(distinct, options, progress, ct), out var results))
        {
            if (Quiet)
            {
                WriteObject(false);
            }

            return;
        }

        if (Quiet)
        {
            WriteObject(results.All(r => r.Verdict != PgDrCheckVerdict.Fail));
        }
        else
        {
            WriteObject(results, enumerateCollection: true);
        }
    }
}

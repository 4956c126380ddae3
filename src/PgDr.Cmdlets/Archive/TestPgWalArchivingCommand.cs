using System.Management.Automation;
using PgDr.Archive.Configuration;
using PgDr.Archive.Server;
using PgDr.Archive.Transfer;
using PgDr.Cmdlets.Infrastructure;

namespace PgDr.Cmdlets.Archive;

/// <summary>
/// <para type="synopsis">Judges WAL archiving end to end: pg_stat_archiver, the configuration, the .ready backlog, and optionally a forced segment switch that must be archived within a deadline.</para>
/// <para type="description">Healthy needs archiving switched on through pgdr, no failure newer than the last success in pg_stat_archiver, and at
/// most -MaxReadyFiles segments waiting. With -ForceSwitch it switches to a new segment and waits (up to -Deadline)
/// until PostgreSQL reports it archived and, with -ConfigPath, every required repository holds it. Reasons says what is
/// wrong; -Quiet answers with one bool.
/// On a node on this host it first runs the pgdr that archive_command names as the server's OS
/// account (a pgdr that account cannot execute is never counted by pg_stat_archiver). A forced switch always closes a
/// segment, even on an idle primary, and the wait ends as soon as the archiver fails or restarts; Failure then says why,
/// with pgdr's error id from the server log where PgDr can read it, and the fix.</para>
/// <example><code>Test-PgWalArchiving db-a -ForceSwitch -Deadline 00:01:00 | Format-List</code></example>
/// </summary>
[Cmdlet(VerbsDiagnostic.Test, "PgWalArchiving")]
[OutputType(typeof(PgWalArchivingHealth), typeof(bool))]
[PgDrCliCommand("archiving test")]
public sealed class TestPgWalArchivingCommand : PgDrInstanceCmdlet
{
    /// <summary>Switch to a new WAL segment and wait until it is archived.</summary>
    [Parameter]
    public SwitchParameter ForceSwitch { get; set; }

    /// <summary>How long the switched segment may take (default 60 seconds).</summary>
    [Parameter]
    public TimeSpan Deadline { get; set; } = TimeSpan.FromSeconds(60);

    /// <summary>More segments than this waiting for the archiver counts as falling behind (default 16).</summary>
    [Parameter]
    [ValidateRange(0, int.MaxValue)]
    public int MaxReadyFiles { get; set; } = 16;

    /// <summary>The PgDr configuration: with -ForceSwitch its required repositories must all receive the switched segment; the access check reads it (default: the one archive_command names).</summary>
    [Parameter]
    public string? ConfigPath { get; set; }

    /// <summary>Return one bool: true when archiving is healthy on every node.</summary>
    [Parameter]
    public SwitchParameter Quiet { get; set; }

    private bool _allHealthy = true;

    protected override void ProcessRecord()
    {
        var configPath = ConfigPath is null ? null : GetUnresolvedProviderPathFromPSPath(ConfigPath);
        var options = new WalArchivingTestOptions { ForceSwitch = ForceSwitch, Deadline = Deadline, MaxReadyFiles = MaxReadyFiles, ConfigPath = configPath };
        foreach (var instance in Instance)
        {
            var target = Resolve(instance);
            if (!TryRun((_, ct) => WalArchivingHealthService.TestAsync(target, options, configPath is null ? null : new RepositoryWalProbe(PgDrConfig.Load(configPath)), ct), out var health))
            {
                _allHealthy = false;
                continue;
            }

            _allHealthy &= health.Healthy;
            if (!Quiet)
            {
                WriteObject(health);
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

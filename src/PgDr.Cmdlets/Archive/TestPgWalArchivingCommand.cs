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
/// wrong; -Quiet answers with one bool.</para>
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

    /// <summary>With -ForceSwitch: the PgDr configuration whose required repositories must all receive the switched segment.</summary>
    [Parameter]
    public string? ConfigPath { get; set; }

    /// <summary>Return one bool: true when archiving is healthy on every node.</summary>
    [Parameter]
    public SwitchParameter Quiet { get; set; }

    private bool _allHealthy = true;

    protected override void ProcessRecord()
    {
        var options = new WalArchivingTestOptions { ForceSwitch = ForceSwitch, Deadline = Deadline, MaxReadyFiles = MaxReadyFiles };
        var configPath = ConfigPath is null ? null : GetUnresolvedProviderPathFromPSPath(ConfigPath);
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

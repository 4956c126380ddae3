using System.Management.Automation;
using PgDr.Archive.Configuration;
using PgDr.Backup.Verify;
using PgDr.Cmdlets.Infrastructure;

namespace PgDr.Cmdlets.Backup;

/// <summary>
/// <para type="synopsis">Proves a backup by restoring it: into a scratch cluster, checked with pg_verifybackup, started, replayed to consistency or a target,
/// checked with pg_amcheck, row counts and your queries, then removed.</para>
/// <para type="description">Reports each step's result and time (dbatools' Test-DbaLastBackup is the model). The scratch cluster runs as the postgres account on a
/// private Unix socket (no TCP port) and never archives; it is stopped and removed whatever happened. A damaged backup object fails the restore step
/// and nothing is started. -Quiet returns one bool.</para>
/// <example><code>Test-PgBackup -ConfigPath /etc/pgdr/pgdr.json -Table public.orders -Query 'SELECT max(created) > now() - interval ''1 day'' FROM orders' -Database shop</code></example>
/// <example><code>if (-not (Test-PgBackup -Quiet)) { throw 'the latest backup does not restore' }</code></example>
/// <example><code>Get-PgBackup | Where-Object StopTime -gt (Get-Date).AddDays(-7) | Test-PgBackup | Format-List Label, Success, Error</code></example>
/// </summary>
[Cmdlet(VerbsDiagnostic.Test, "PgBackup")]
[OutputType(typeof(PgBackupTest), typeof(bool))]
[PgDrCliCommand("backup test")]
public sealed class TestPgBackupCommand : PgDrCmdlet
{
    /// <summary>The PgDr configuration file (default: $env:PGDR_CONFIG, else /etc/pgdr/pgdr.json).</summary>
    [Parameter(Position = 0, ValueFromPipelineByPropertyName = true)]
    public string? ConfigPath { get; set; }

    /// <summary>The backup to prove (default: the latest).</summary>
    [Parameter(ValueFromPipelineByPropertyName = true)]
    public string? Label { get; set; }

    /// <summary>Prove every backup whose consistency point is at or after this time.</summary>
    [Parameter]
    public DateTimeOffset? Since { get; set; }

    /// <summary>The repository to restore from (default: the first in the configuration).</summary>
    [Parameter(ValueFromPipelineByPropertyName = true)]
    public string? Repository { get; set; }

    /// <summary>Replay to this time instead of to consistency.</summary>
    [Parameter]
    public DateTimeOffset? TargetTime { get; set; }

    /// <summary>Replay to this WAL position (X/X).</summary>
    [Parameter]
    public string? TargetLsn { get; set; }

    /// <summary>Replay to the commit of this transaction.</summary>
    [Parameter]
    public ulong? TargetXid { get; set; }

    /// <summary>Replay to this restore point.</summary>
    [Parameter]
    public string? TargetName { get; set; }

    /// <summary>Tables whose rows are counted (schema.table), in -Database.</summary>
    [Parameter]
    public string[] Table { get; set; } = [];

    /// <summary>Queries that must succeed in -Database; one returning a single false fails the test.</summary>
    [Parameter]
    public string[] Query { get; set; } = [];

    /// <summary>The database of the tables and queries (default postgres).</summary>
    [Parameter]
    public string Database { get; set; } = "postgres";

    /// <summary>Skip pg_amcheck.</summary>
    [Parameter]
    public SwitchParameter NoAmcheck { get; set; }

    /// <summary>Skip pg_verifybackup.</summary>
    [Parameter]
    public SwitchParameter NoVerifyFiles { get; set; }

    /// <summary>Where the scratch cluster is made (default: the temp directory); the postgres account must reach it.</summary>
    [Parameter]
    public string? ScratchDirectory { get; set; }

    /// <summary>PostgreSQL's programs for the backup's major version (default: found as the sandbox finds them).</summary>
    [Parameter]
    public string? BinDirectory { get; set; }

    /// <summary>The pgdr the scratch cluster's restore_command runs (default: pgdr on PATH).</summary>
    [Parameter]
    public string? PgDrPath { get; set; }

    /// <summary>How long replay may take (default 30 minutes).</summary>
    [Parameter]
    public TimeSpan RecoveryTimeout { get; set; } = TimeSpan.FromMinutes(30);

    /// <summary>Return one bool: true when every backup tested passed.</summary>
    [Parameter]
    public SwitchParameter Quiet { get; set; }

    private readonly List<bool> _verdicts = [];

    protected override void ProcessRecord()
    {
        var lsn = ParseLsnOrTerminate(TargetLsn, PgDr.Errors.ErrorIds.InvalidBackupTestRequest);

        var path = ConfigPath is null ? null : GetUnresolvedProviderPathFromPSPath(ConfigPath);
        var request = new BackupTestRequest
        {
            Label = Label,
            Since = Since,
            Repository = Repository,
            TargetTime = TargetTime,
            TargetLsn = lsn,
            TargetXid = TargetXid,
            TargetName = TargetName,
            Tables = Table,
            Queries = Query,
            Database = Database,
            Amcheck = !NoAmcheck,
            VerifyFiles = !NoVerifyFiles,
            ScratchDirectory = ScratchDirectory is null ? null : GetUnresolvedProviderPathFromPSPath(ScratchDirectory),
            BinDirectory = BinDirectory,
            PgDrPath = PgDrPath is null ? null : GetUnresolvedProviderPathFromPSPath(PgDrPath),
            RecoveryTimeout = RecoveryTimeout,
        };
        if (!TryRun((progress, ct) => BackupTestService.TestAsync(PgDrConfig.Load(path), request, progress, ct), out var results))
        {
            _verdicts.Add(false);
            return;
        }

        foreach (var result in results)
        {
            _verdicts.Add(result.Success);
            if (!Quiet)
            {
                WriteObject(result);
            }
        }
    }

    protected override void EndProcessing()
    {
        if (Quiet)
        {
            WriteObject(_verdicts.Count > 0 && _verdicts.All(v => v));
        }
    }
}

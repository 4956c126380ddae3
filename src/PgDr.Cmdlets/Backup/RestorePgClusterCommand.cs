using System.Collections;
using System.Management.Automation;
using PgDr.Archive.Configuration;
using PgDr.Backup.Restore;
using PgDr.Cmdlets.Infrastructure;

namespace PgDr.Cmdlets.Backup;

/// <summary>
/// <para type="synopsis">Restores a base backup into a data directory on this host and sets it up to recover from the archive: to a time, an LSN, a transaction,
/// a restore point, consistency, the end of the archive, or as a standby.</para>
/// <para type="description">Chooses the latest backup that reaches the target unless -Label names one, and refuses a target before that backup's consistency
/// point, after the last archived WAL, or on a timeline the archive lacks, before writing anything. Objects are downloaded and decoded in parallel;
/// pg_control is put in place last, so a failed restore can never be started. restore_command is 'pgdr wal fetch --config ...', checked to be usable
/// by the postgres OS account; the recovery settings go into postgresql.auto.conf (no secrets). -Delta rewrites only the files that differ (fast
/// re-seeding of a failed primary) and removes what the backup does not hold. A non-empty directory is refused unless -Delta or -Force.</para>
/// <example><code>Restore-PgCluster /var/lib/postgresql/15/main -TargetTime '2026-11-22 10:15:00Z' -TargetAction Promote</code></example>
/// <example><code>Get-PgBackup | Select-Object -Last 1 | Restore-PgCluster -DataDirectory /srv/pg/restore -WhatIf</code></example>
/// <example><code>Restore-PgCluster /var/lib/postgresql/15/main -Delta -AsStandby -Primary db-a:5432 -ReplicationUser replicator -PasswordFile /var/lib/postgresql/.pgpass -PrimarySlotName db_b</code></example>
/// </summary>
[Cmdlet(VerbsData.Restore, "PgCluster", SupportsShouldProcess = true, ConfirmImpact = ConfirmImpact.Medium)]
[OutputType(typeof(PgRestoreResult))]
[PgDrCliCommand("restore")]
public sealed class RestorePgClusterCommand : PgDrCmdlet
{
    /// <summary>Where to restore: a new or empty directory, or an existing cluster's with -Delta or -Force.</summary>
    [Parameter(Mandatory = true, Position = 0)]
    [ValidateNotNullOrEmpty]
    public string DataDirectory { get; set; } = string.Empty;

    /// <summary>The PgDr configuration file (default: $env:PGDR_CONFIG, else /etc/pgdr/pgdr.json); restore_command names it too.</summary>
    [Parameter(ValueFromPipelineByPropertyName = true)]
    public string? ConfigPath { get; set; }

    /// <summary>The backup to restore (default: the latest one that reaches the target).</summary>
    [Parameter(ValueFromPipelineByPropertyName = true)]
    public string? Label { get; set; }

    /// <summary>The repository to read from (default: the first that holds the backup).</summary>
    [Parameter(ValueFromPipelineByPropertyName = true)]
    public string? Repository { get; set; }

    /// <summary>Recover up to this moment (recovery_target_time).</summary>
    [Parameter]
    public DateTimeOffset? TargetTime { get; set; }

    /// <summary>Recover up to this WAL position, as X/X (recovery_target_lsn).</summary>
    [Parameter]
    public string? TargetLsn { get; set; }

    /// <summary>Recover up to the commit of this transaction (recovery_target_xid).</summary>
    [Parameter]
    public ulong? TargetXid { get; set; }

    /// <summary>Recover up to this restore point, made with pg_create_restore_point() (recovery_target_name).</summary>
    [Parameter]
    public string? TargetName { get; set; }

    /// <summary>Stop as soon as the backup is consistent (recovery_target = 'immediate').</summary>
    [Parameter]
    public SwitchParameter Immediate { get; set; }

    /// <summary>What recovery does at the target: Pause (PostgreSQL's default), Promote or Shutdown.</summary>
    [Parameter]
    public RecoveryTargetAction? TargetAction { get; set; }

    /// <summary>Stop just before the target instead of just after it (recovery_target_inclusive = off).</summary>
    [Parameter]
    public SwitchParameter TargetExclusive { get; set; }

    /// <summary>The timeline to recover along: a number, 'current' or 'latest' (the default).</summary>
    [Parameter]
    public string? TargetTimeline { get; set; }

    /// <summary>Seed a standby (standby.signal), following the archive and, with -PrimaryConnInfo, its primary.</summary>
    [Parameter]
    public SwitchParameter AsStandby { get; set; }

    /// <summary>With -AsStandby: the node to stream from; primary_conninfo is built from it, never with a password.</summary>
    [Parameter]
    public PgDr.Connections.PgInstance? Primary { get; set; }

    /// <summary>With -AsStandby: the role the standby replicates as (default: the primary's user, else postgres).</summary>
    [Parameter]
    public string? ReplicationUser { get; set; }

    /// <summary>With -AsStandby: the 0600 password file primary_conninfo names (passfile=), readable by the postgres account.</summary>
    [Parameter]
    public string? PasswordFile { get; set; }

    /// <summary>With -AsStandby: the standby's application_name, as synchronous_standby_names and pg_stat_replication call it.</summary>
    [Parameter]
    public string? StandbyName { get; set; }

    /// <summary>With -AsStandby: primary_slot_name.</summary>
    [Parameter]
    public string? PrimarySlotName { get; set; }

    /// <summary>Rewrite only the files that differ from the backup and remove those it does not hold.</summary>
    [Parameter]
    public SwitchParameter Delta { get; set; }

    /// <summary>Restore into a non-empty directory (and tablespace locations) by emptying it first.</summary>
    [Parameter]
    public SwitchParameter Force { get; set; }

    /// <summary>The pgdr restore_command runs (default: pgdr on PATH); the postgres OS account must be able to run it.</summary>
    [Parameter]
    public string? PgDrPath { get; set; }

    /// <summary>Preserve (default) keeps archive_mode as backed up; Off keeps the restored cluster from archiving.</summary>
    [Parameter]
    public RestoreArchiveMode ArchiveMode { get; set; } = RestoreArchiveMode.Preserve;

    /// <summary>Where tablespaces go, by oid or name: @{ '16385' = '/srv/pg/ts1' }. Unmapped ones go back where they were.</summary>
    [Parameter]
    public Hashtable? TablespaceMapping { get; set; }

    /// <summary>Further settings for postgresql.auto.conf, such as @{ port = 5433 }.</summary>
    [Parameter]
    public Hashtable? Setting { get; set; }

    /// <summary>The OS account that runs PostgreSQL and will own the files, when restoring as root (default postgres).</summary>
    [Parameter]
    public string? OsUser { get; set; }

    /// <summary>Objects downloaded and written at once (default: backup.parallel of the configuration, one per core).</summary>
    [Parameter]
    [ValidateRange(1, 64)]
    public int? Parallel { get; set; }

    protected override void ProcessRecord()
    {
        var configPath = ConfigPath is null ? null : GetUnresolvedProviderPathFromPSPath(ConfigPath);
        var lsn = ParseLsnOrTerminate(TargetLsn, PgDr.Errors.ErrorIds.InvalidRestoreRequest);

        var request = new RestoreRequest
        {
            DataDirectory = GetUnresolvedProviderPathFromPSPath(DataDirectory),
            Label = Label,
            Repository = Repository,
            TargetTime = TargetTime,
            TargetLsn = lsn,
            TargetXid = TargetXid,
            TargetName = TargetName,
            Immediate = Immediate,
            TargetAction = TargetAction,
            TargetExclusive = TargetExclusive,
            TargetTimeline = TargetTimeline,
            AsStandby = AsStandby,
            Primary = Primary,
            ReplicationUser = ReplicationUser,
            PasswordFile = PasswordFile is null ? null : GetUnresolvedProviderPathFromPSPath(PasswordFile),
            StandbyName = StandbyName,
            PrimarySlotName = PrimarySlotName,
            Delta = Delta,
            Force = Force,
            PgDrPath = PgDrPath is null ? null : GetUnresolvedProviderPathFromPSPath(PgDrPath),
            ConfigPath = configPath,
            ArchiveMode = ArchiveMode,
            TablespaceMapping = ToDictionary(TablespaceMapping),
            Settings = ToDictionary(Setting),
            OsUser = OsUser,
            Parallel = Parallel,
        };
        if (!TryRun((_, ct) => RestoreService.PlanAsync(PgDrConfig.Load(configPath), request, ct), out var plan))
        {
            return;
        }

        if (!ShouldProcess(plan.Preview.DataDirectory, plan.Describe()))
        {
            return;
        }

        if (TryRun((progress, ct) => RestoreService.RestoreAsync(plan, progress, ct), out var result))
        {
            WriteVerbose($"Start it as the postgres account: {result.StartCommand}");
            WriteObject(result);
        }
    }

    private static Dictionary<string, string>? ToDictionary(Hashtable? table) =>
        table?.Cast<DictionaryEntry>().ToDictionary(e => e.Key.ToString()!, e => e.Value?.ToString() ?? string.Empty, StringComparer.Ordinal);
}

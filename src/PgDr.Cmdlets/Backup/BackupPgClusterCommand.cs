using System.Management.Automation;
using PgDr.Archive.Configuration;
using PgDr.Backup.Catalog;
using PgDr.Backup.Create;
using PgDr.Cmdlets.Infrastructure;
using PgDr.Connections;

namespace PgDr.Cmdlets.Backup;

/// <summary>
/// <para type="synopsis">Takes a base backup of a cluster on this host (primary or standby) into every repository of the PgDr configuration.</para>
/// <para type="description">Runs pg_backup_start on one session, reads the data directory in parallel, compresses and encrypts each object on the way
/// to the repositories (no local copy), copies pg_control last, runs pg_backup_stop, and waits until the WAL from start to stop is in every required
/// repository. Only then is the manifest written: an interrupted backup is never listed, and the next backup removes its leftovers.
/// -Type Incremental or Differential stores only the files changed since the latest (full) backup and references the others.
/// The result tells sizes, times and throughput.</para>
/// <example><code>Backup-PgCluster 127.0.0.1:5432 -ConfigPath /etc/pgdr/pgdr.json</code></example>
/// <example><code>Backup-PgCluster db-b:5432 -Type Incremental -Primary db-a:5432   # on the standby's host</code></example>
/// </summary>
[Cmdlet(VerbsData.Backup, "PgCluster", SupportsShouldProcess = true, ConfirmImpact = ConfirmImpact.Low)]
[OutputType(typeof(PgBackupResult))]
[PgDrCliCommand("backup create")]
public sealed class BackupPgClusterCommand : PgDrInstanceCmdlet
{
    /// <summary>The PgDr configuration file (default: $env:PGDR_CONFIG, else /etc/pgdr/pgdr.json).</summary>
    [Parameter]
    public string? ConfigPath { get; set; }

    /// <summary>Full (default), Incremental (files changed since the latest backup) or Differential (since the latest full backup).</summary>
    [Parameter]
    public BackupType Type { get; set; } = BackupType.Full;

    /// <summary>The data directory to read; by default the server's data_directory, which must be on this host.</summary>
    [Parameter]
    public string? DataDirectory { get; set; }

    /// <summary>When backing up a standby: its primary, asked for a checkpoint before and a WAL switch after, so the backup starts fresh and completes at once.</summary>
    [Parameter]
    public PgInstance? Primary { get; set; }

    /// <summary>Let pg_backup_start wait for a spread checkpoint instead of asking for a fast one.</summary>
    [Parameter]
    public SwitchParameter SpreadCheckpoint { get; set; }

    /// <summary>How long to wait for the backup's WAL to reach the repositories (default: backup.archiveTimeoutSeconds of the configuration, 300 s).</summary>
    [Parameter]
    public TimeSpan? ArchiveTimeout { get; set; }

    /// <summary>Incremental or differential: compare the checksum of every file whose size and timestamp look unchanged, instead of trusting old timestamps.</summary>
    [Parameter]
    public SwitchParameter CompareChecksums { get; set; }

    /// <summary>Files read, compressed and uploaded at once (default: backup.parallel of the configuration, one per core).</summary>
    [Parameter]
    [ValidateRange(1, 64)]
    public int? Parallel { get; set; }

    protected override void ProcessRecord()
    {
        var path = ConfigPath is null ? null : GetUnresolvedProviderPathFromPSPath(ConfigPath);
        PgDrConfig config;
        try
        {
            config = PgDrConfig.Load(path);
        }
        catch (PgDr.Errors.PgDrException ex)
        {
            ThrowTerminatingError(ToErrorRecord(ex));
            return;
        }

        foreach (var instance in Instance)
        {
            var target = Resolve(instance);
            var what = $"Take a {Type.ToString().ToLowerInvariant()} base backup into stanza '{config.Stanza}' of {string.Join(", ", config.Repositories.Select(r => r.Name))}";
            if (!ShouldProcess(target.ToString(), what))
            {
                continue;
            }

            var request = new BackupRequest
            {
                Instance = target,
                Type = Type,
                DataDirectory = DataDirectory is null ? null : GetUnresolvedProviderPathFromPSPath(DataDirectory),
                Primary = Primary is null ? null : Resolve(Primary),
                FastCheckpoint = !SpreadCheckpoint,
                ArchiveTimeout = ArchiveTimeout,
                CompareChecksums = CompareChecksums,
                Parallel = Parallel,
            };
            if (TryRun((progress, ct) => BackupService.CreateAsync(config, request, progress, ct), out var result))
            {
                foreach (var failed in result.FailedRepositories)
                {
                    WriteWarning($"Not in every repository: {failed}");
                }

                WriteObject(result);
            }
        }
    }
}
